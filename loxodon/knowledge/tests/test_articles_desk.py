"""The knowledge base in the desk (/desk/kb/): list, read, edit, history, diff, archive.

Through the Django test client as agents and supervisors would use it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loxodon.core.testing import signed_in
from loxodon.knowledge import services
from loxodon.knowledge.models import Article, ArticleVersion, Category
from loxodon.org.models import User

pytestmark = pytest.mark.django_db

POLICY: dict[str, Any] = {
    "parameters": [
        {
            "key": "return_window",
            "label": "Return window",
            "type": "days",
            "value": 30,
            "authority": {"agent": 15, "supervisor": 60},
        },
        {
            "key": "supported_os",
            "label": "Supported operating systems",
            "type": "list",
            "value": ["Windows 11", "Windows 10"],
            "authority": {"supervisor": 1},
        },
    ]
}
# Pinned: session, user, site, department, permissions (2), then the page's own queries.
LIST_QUERIES = 12  # + count, counts, categories, tags, the page of articles, their tags
ARTICLE_QUERIES = 9  # + article (with current version, category), author, tags
BODY = (
    "Customers may return a product within **30 days**.\n\n"
    ":::phone\nRead the order number back to the customer.\n:::\n\n"
    ":::web email\nLink the customer to the returns form.\n:::\n\n"
    ":::in_person\nCheck the box is complete at the counter.\n:::\n"
)


@pytest.fixture
def editor(supervisor: User) -> Client:
    return signed_in(supervisor)


@pytest.fixture
def returns(supervisor: User) -> Category:
    return Category.objects.create(name="Returns", slug="returns")


@pytest.fixture
def policy(supervisor: User, returns: Category) -> Article:
    return services.create_article(
        by=supervisor,
        title="Returns policy",
        body=BODY,
        audience="public",
        category=returns,
        tags=["returns", "refunds"],
        review_by=timezone.localdate() + timedelta(days=90),
        policy=POLICY,
    )


def url(name: str, article: Article | None = None, **kwargs: Any) -> str:
    if article is not None:
        kwargs["slug"] = article.slug
    return reverse(f"knowledge:{name}", kwargs=kwargs or None)


def listed(response: Any) -> list[str]:
    return re.findall(r'data-article="([^"]+)"', response.content.decode())


def form_data(article: Article, **changes: Any) -> dict[str, Any]:
    version = article.current
    assert version is not None
    data = {
        "title": version.title,
        "audience": version.audience,
        "category": article.category_id or "",
        "tags": ", ".join(t.name for t in article.tags.all()),
        "review_by": version.review_by.isoformat() if version.review_by else "",
        "body": version.body,
        "policy": "",
        "change_note": "",
        "expected_version": version.number,
    }
    if version.policy:
        import json

        data["policy"] = json.dumps(version.policy)
    data.update(changes)
    return data


# --- list -------------------------------------------------------------------------------------


def test_list_filters_badges_and_counts(desk: Client, supervisor: User, policy: Article) -> None:
    old = services.create_article(
        by=supervisor,
        title="Old printer drivers",
        body="Use the 2019 driver.",
        tags=["printers"],
        review_by=date(2020, 5, 3),
    )
    gone = services.create_article(by=supervisor, title="Fax machines", body="We sold them.")
    services.archive_article(article=gone, by=supervisor, reason="no more faxes")

    page = desk.get(url("articles"))
    assert page.status_code == 200
    assert listed(page) == [old.slug, policy.slug]  # archived hidden; by title
    html = page.content.decode()
    assert "Public" in html and "Internal" in html and "Policy" in html
    assert "Review overdue" in html
    assert "New article" not in html  # agents do not write
    assert re.search(r"<strong>2</strong> articles", html)
    assert re.search(r"<strong>1</strong> overdue", html)
    assert re.search(r"<strong>1</strong> archived", html)

    assert listed(desk.get(url("articles"), {"overdue": "on"})) == [old.slug]
    assert listed(desk.get(url("articles"), {"policies": "on"})) == [policy.slug]
    assert listed(desk.get(url("articles"), {"audience": "internal"})) == [old.slug]
    assert listed(desk.get(url("articles"), {"category": "returns"})) == [policy.slug]
    assert listed(desk.get(url("articles"), {"tag": "printers"})) == [old.slug]
    with_archived = desk.get(url("articles"), {"archived": "on"})
    assert listed(with_archived) == [gone.slug, old.slug, policy.slug]
    assert "Archived" in with_archived.content.decode()
    # An unknown value filters nothing rather than failing.
    assert desk.get(url("articles"), {"audience": "martians"}).status_code == 200


def test_list_htmx_partial_and_pagination(desk: Client, supervisor: User) -> None:
    for n in range(27):
        services.create_article(by=supervisor, title=f"Article {n:02d}", body="Text")
    first = desk.get(url("articles"))
    assert len(listed(first)) == 25 and "Page 1 of 2" in first.content.decode()
    second = desk.get(url("articles"), {"page": 2}, headers={"HX-Request": "true"})
    assert listed(second) == ["article-25", "article-26"]
    assert "<html" not in second.content.decode()  # just the results partial


def test_empty_states(desk: Client, editor: Client, policy: Article) -> None:
    assert (
        "No articles match these filters"
        in desk.get(url("articles"), {"tag": "nothing-has-this"}).content.decode()
    )
    Article.objects.update(current=None)
    ArticleVersion.objects.all().delete()
    Article.objects.all().delete()
    empty = desk.get(url("articles")).content.decode()
    assert "The knowledge base is empty" in empty and "Write the first article" not in empty
    assert "Write the first article" in editor.get(url("articles")).content.decode()


def test_list_query_count_does_not_grow(
    desk: Client, supervisor: User, returns: Category, django_assert_max_num_queries: Any
) -> None:
    def add(n: int) -> None:
        for i in range(n):
            article = services.create_article(
                by=supervisor,
                title=f"Tagged {Article.objects.count()} {i}",
                body="x",
                category=returns,
                tags=["a", "b"],
            )
            services.revise_article(article=article, by=supervisor, change_note="v2", body="y")

    add(2)
    desk.get(url("articles"))  # warm the session
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(listed(desk.get(url("articles")))) == 2
    add(10)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(listed(desk.get(url("articles")))) == 12


# --- permissions ------------------------------------------------------------------------------


def test_agent_reads_but_cannot_edit(desk: Client, policy: Article) -> None:
    assert desk.get(url("article", policy)).status_code == 200
    assert desk.get(url("history", policy)).status_code == 200
    assert desk.get(url("new")).status_code == 403
    assert desk.get(url("edit", policy)).status_code == 403
    post = desk.post(url("edit", policy), form_data(policy, title="Hacked", change_note="x"))
    assert post.status_code == 403
    assert desk.post(url("archive", policy), {"reason": "x"}).status_code == 403
    policy.refresh_from_db()
    assert policy.title == "Returns policy" and policy.archived_at is None
    assert policy.versions.count() == 1
    html = desk.get(url("article", policy)).content.decode()
    assert url("edit", policy) not in html and "Archive this article" not in html


def test_signed_out_and_inactive_get_no_article(supervisor: User, policy: Article) -> None:
    anonymous = Client()
    for name in ("articles", "new"):
        response = anonymous.get(url(name))
        assert response.status_code == 302 and "/desk/login/" in response["Location"]
    response = anonymous.get(url("article", policy))
    assert response.status_code == 302 and "/desk/login/" in response["Location"]
    gone = User.objects.create_user("gone", role="agent")
    client = signed_in(gone)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    assert client.get(url("article", policy)).status_code in (302, 404)


def test_unknown_article_is_404(desk: Client) -> None:
    assert desk.get("/desk/kb/no-such-article/").status_code == 404
    assert desk.get("/desk/kb/no-such-article/versions/").status_code == 404


# --- read ---------------------------------------------------------------------------------------


def test_article_page_shows_version_policy_and_channel_tabs(
    desk: Client, supervisor: User, policy: Article, django_assert_max_num_queries: Any
) -> None:
    page = desk.get(url("article", policy))
    html = page.content.decode()
    assert "<strong>30 days</strong>" in html
    for text in ("Read the order number back", "Link the customer", "Check the box"):
        assert text in html  # all channels: every section, labelled
    assert "Phone only" in html
    assert '?channel=phone"' in html and '?channel=in_person"' in html
    assert '?channel=sms"' not in html  # no section of its own: no tab
    assert "Return window" in html and "up to 15 days more" in html
    assert "up to 60 days more" in html and "up to 1 extra item" in html
    assert "Windows 11, Windows 10" in html
    assert "Sue Supervisor" in html and "First version" in html
    assert 'id="kb-version">1<' in html
    assert "Returns" in html and "refunds" in html

    phone = desk.get(url("article", policy), {"channel": "phone"}).content.decode()
    body = phone.split('id="kb-body">', 1)[1].split("</div>", 1)[0]
    assert "Read the order number back" in body and "30 days" in body
    assert "returns form" not in body and "Check the box" not in body
    web = desk.get(url("article", policy), {"channel": "web"}).content.decode()
    web_body = web.split('id="kb-body">', 1)[1].split("</div>", 1)[0]
    assert "returns form" in web_body and "order number" not in web_body
    # An unknown channel shows every section rather than an error.
    assert "Phone only" in desk.get(url("article", policy), {"channel": "x"}).content.decode()

    def versions(n: int) -> None:
        for i in range(n):
            services.revise_article(
                article=policy, by=supervisor, change_note=f"edit {i}", body=f"{BODY}\n{i}"
            )

    versions(1)
    with django_assert_max_num_queries(ARTICLE_QUERIES):
        desk.get(url("article", policy))
    versions(10)
    with django_assert_max_num_queries(ARTICLE_QUERIES):
        assert desk.get(url("article", policy)).status_code == 200


def test_stale_article_flagged(desk: Client, supervisor: User) -> None:
    stale = services.create_article(
        by=supervisor, title="Warranty", body="One year.", review_by=date(2021, 5, 3)
    )
    html = desk.get(url("article", stale)).content.decode()
    assert "Review overdue since 3 May 2021:" in html and "check before relying on it" in html
    fresh = services.create_article(
        by=supervisor,
        title="Fresh",
        body="New.",
        review_by=timezone.localdate() + timedelta(days=1),
    )
    assert "Review overdue" not in desk.get(url("article", fresh)).content.decode()


def test_script_in_body_never_runs(desk: Client, supervisor: User) -> None:
    article = services.create_article(
        by=supervisor, title="<b>Bold</b> title", body="Hello <script>alert(1)</script> there"
    )
    html = desk.get(url("article", article)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt; title" in html


# --- edit -----------------------------------------------------------------------------------


def test_editor_creates_article(editor: Client, supervisor: User, returns: Category) -> None:
    form = editor.get(url("new"))
    assert form.status_code == 200 and ":::phone in_person" in form.content.decode()
    response = editor.post(
        url("new"),
        {
            "title": "Refurbished warranty",
            "slug": "",
            "audience": "public",
            "category": returns.pk,
            "tags": "Refurbished, warranty",
            "review_by": "2030-01-31",
            "body": "Refurbished products: 90 days.",
            "policy": "",
            "change_note": "",
        },
    )
    assert response.status_code == 302
    article = Article.objects.get(slug="refurbished-warranty")
    assert response["Location"] == url("article", article)
    assert article.category == returns and article.review_by == date(2030, 1, 31)
    assert sorted(t.name for t in article.tags.all()) == ["refurbished", "warranty"]
    assert article.current is not None and article.current.change_note == "First version"
    assert article.current.author == supervisor and not article.is_policy


def test_editing_makes_a_new_version_and_keeps_the_old(
    editor: Client, desk: Client, supervisor: User, policy: Article
) -> None:
    form = editor.get(url("edit", policy)).content.decode()
    assert 'name="expected_version" value="1"' in form and "return_window" in form
    response = editor.post(
        url("edit", policy),
        form_data(
            policy,
            title="Returns policy (2026)",
            body=BODY.replace("30 days", "45 days"),
            change_note="Window extended for the sale",
            tags="returns",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.current is not None
    assert policy.current.number == 2 and policy.title == "Returns policy (2026)"
    assert policy.current.author == supervisor
    assert policy.current.change_note == "Window extended for the sale"
    assert [t.name for t in policy.tags.all()] == ["returns"]
    v1 = policy.versions.get(number=1)
    assert "30 days" in v1.body and v1.title == "Returns policy"
    old = desk.get(url("version", policy, number=1)).content.decode()
    assert "30 days" in old and "45 days" not in old and "the current version is 2" in old
    current = desk.get(url("article", policy)).content.decode()
    assert "45 days" in current and "Window extended for the sale" in current
    history = desk.get(url("history", policy)).content.decode()
    assert "Version 2" in history and "Version 1" in history
    assert "Window extended for the sale" in history and "Sue Supervisor" in history
    assert f"{url('diff', policy)}?from=1&amp;to=2" in history
    assert desk.get(url("version", policy, number=3)).status_code == 404


def test_edit_errors_on_the_form_nothing_written(editor: Client, policy: Article) -> None:
    no_note = editor.post(url("edit", policy), form_data(policy, title="New title"))
    assert no_note.status_code == 400 and "This field is required" in no_note.content.decode()
    bad_json = editor.post(
        url("edit", policy), form_data(policy, policy="{not json", change_note="x")
    )
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.content.decode()
    bad_policy = editor.post(
        url("edit", policy),
        form_data(
            policy,
            policy='{"parameters": [{"key": "Bad Key", "label": "x", "type": "days", "value": 1}]}',
            change_note="x",
        ),
    )
    assert bad_policy.status_code == 400
    assert "key must be lower-case letters" in bad_policy.content.decode()
    bad_body = editor.post(
        url("edit", policy), form_data(policy, body=":::phone\nnever closed", change_note="x")
    )
    assert bad_body.status_code == 400
    assert "channel section not closed" in bad_body.content.decode()
    same = editor.post(url("edit", policy), form_data(policy, change_note="nothing"))
    assert same.status_code == 400 and "Nothing changed" in same.content.decode()
    assert policy.versions.count() == 1


def test_clearing_policy_makes_it_a_plain_article(editor: Client, policy: Article) -> None:
    response = editor.post(
        url("edit", policy), form_data(policy, policy="", change_note="No longer a policy")
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert not policy.is_policy and policy.current is not None and policy.current.policy is None


def test_concurrent_edit_is_a_form_error_not_a_lost_update(
    editor: Client, supervisor: User, policy: Article
) -> None:
    stale_form = form_data(policy, body="My change", change_note="mine")
    services.revise_article(
        article=policy, by=supervisor, change_note="theirs", body="Their change"
    )
    response = editor.post(url("edit", policy), stale_form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed while you edited it" in html and "version 2 is current" in html
    assert "My change" in html  # the editor's text is still in the form
    policy.refresh_from_db()
    assert policy.current is not None and policy.current.body == "Their change"
    assert policy.versions.count() == 2


def test_slug_taken_or_reserved(editor: Client, policy: Article) -> None:
    data = {"title": "X", "audience": "internal", "body": "x", "slug": policy.slug}
    taken = editor.post(url("new"), data)
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    reserved = editor.post(url("new"), {**data, "slug": "search"})
    assert reserved.status_code == 400 and "is not allowed" in reserved.content.decode()
    assert Article.objects.count() == 1


# --- archive ----------------------------------------------------------------------------------


def test_archive_needs_a_reason_and_shows_a_banner(
    editor: Client, desk: Client, policy: Article
) -> None:
    response = editor.post(url("archive", policy), {"reason": " "}, follow=True)
    assert "say why the article is archived" in response.content.decode()
    policy.refresh_from_db()
    assert policy.archived_at is None
    response = editor.post(url("archive", policy), {"reason": "replaced"}, follow=True)
    assert "Archived “Returns policy”" in response.content.decode()
    policy.refresh_from_db()
    assert policy.archived_at is not None
    html = desk.get(url("article", policy)).content.decode()
    assert 'id="kb-archived"' in html and "do not give it to a customer" in html
    assert "“replaced”" in html and policy.archived_reason == "replaced"
    assert policy.archived_by is not None and policy.archived_by.role == "supervisor"
    assert "Archive this article" not in editor.get(url("article", policy)).content.decode()
    assert editor.get(url("archive", policy)).status_code == 405


# --- diff -------------------------------------------------------------------------------------


def test_diff_marks_removed_and_added_words_escaped(
    desk: Client, supervisor: User, policy: Article
) -> None:
    services.revise_article(
        article=policy,
        by=supervisor,
        change_note="longer window",
        body=BODY.replace("30 days", "45 days") + "\nNever <script>alert(1)</script> here.\n",
        policy={"parameters": [{**POLICY["parameters"][0], "value": 45}, POLICY["parameters"][1]]},
    )
    response = desk.get(url("diff", policy), {"from": 1, "to": 2})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<del>30</del>" in html and "<ins>45</ins>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    body = html.split('data-field="body"', 1)[1].split("</section>", 1)[0]
    assert "Changed" in body
    title = html.split('data-field="title"', 1)[1].split("</section>", 1)[0]
    assert "Unchanged" in title
    policy_part = html.split('data-field="policy"', 1)[1].split("</section>", 1)[0]
    assert "<del>30</del>" in policy_part and "<ins>45</ins>" in policy_part
    # Defaults: the current version against the one before.
    assert "<ins>45</ins>" in desk.get(url("diff", policy)).content.decode()


def test_diff_errors(desk: Client, supervisor: User, policy: Article) -> None:
    services.revise_article(article=policy, by=supervisor, change_note="v2", body="Two")
    assert desk.get(url("diff", policy), {"from": 1, "to": 9}).status_code == 404
    same = desk.get(url("diff", policy), {"from": 2, "to": 2})
    assert same.status_code == 400 and "choose two different versions" in same.content.decode()
    assert desk.get(url("diff", policy), {"from": "x", "to": "2"}).status_code == 400
    swapped = desk.get(url("diff", policy), {"from": 2, "to": 1})
    assert swapped.status_code == 302 and swapped["Location"].endswith("?from=1&to=2")
    only_one = services.create_article(by=supervisor, title="Single", body="One")
    assert desk.get(url("diff", only_one)).status_code == 400


def test_preview_renders_without_saving(editor: Client, policy: Article) -> None:
    data = form_data(policy, body="Now **sixty** days.\n\n:::phone\nSay it slowly.\n:::")
    response = editor.post(url("edit", policy), {**data, "preview": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and "Preview: not saved yet" in html
    assert "<strong>sixty</strong>" in html and "Phone only" in html
    assert "Return window" in html  # the policy table as it would read
    created = editor.post(
        url("new"), {"title": "Draft", "audience": "internal", "body": "*Hi*", "preview": "1"}
    )
    assert created.status_code == 200 and "<em>Hi</em>" in created.content.decode()
    assert policy.versions.count() == 1 and Article.objects.count() == 1


def test_list_links_to_register_and_report_by_role(desk: Client, editor: Client) -> None:
    agent_html = desk.get(reverse("knowledge:articles")).content.decode()
    assert reverse("knowledge:exceptions") in agent_html
    assert reverse("knowledge:citations") not in agent_html  # the report is for supervisors
    supervisor_html = editor.get(reverse("knowledge:articles")).content.decode()
    assert reverse("knowledge:citations") in supervisor_html
