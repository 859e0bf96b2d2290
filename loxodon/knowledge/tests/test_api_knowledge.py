"""The knowledge API: audience isolation for every reader, editors' writes, search, OpenAPI."""
# ruff: noqa: F811 (pytest fixtures imported from citations_fixtures are redefined as arguments)

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from loxodon.core.testing import Api
from loxodon.knowledge import services
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.citations_fixtures import (  # noqa: F401 (fixtures)
    case,
    category,
    editor_api,
    fresh_search_caches,
    indexed,
    internal_article,
    outsider,
    outsider_api,
    public_article,
)
from loxodon.org.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(anonymous: Api, outsider_api: Api) -> dict[str, Api]:
    return {"anonymous": anonymous, "non-staff": outsider_api}


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {a["id"] for a in response.json()["items"]}


def test_staff_list_every_article_filtered(
    api: Api, public_article: Article, internal_article: Article
) -> None:
    assert ids(api.get("/knowledge/articles")) == {str(public_article.pk), str(internal_article.pk)}
    assert ids(api.get("/knowledge/articles", audience="internal")) == {str(internal_article.pk)}
    assert ids(api.get("/knowledge/articles", q="fraud")) == {str(internal_article.pk)}
    assert len(ids(api.get("/knowledge/articles", category="returns", tag="returns"))) == 2
    assert api.get("/knowledge/articles", audience="secret").status_code == 400


def test_internal_articles_never_reach_non_staff(
    readers: dict[str, Api], public_article: Article, internal_article: Article
) -> None:
    for who, reader in readers.items():
        assert ids(reader.get("/knowledge/articles")) == {str(public_article.pk)}, who
        assert ids(reader.get("/knowledge/articles", audience="internal")) == set(), who
        assert ids(reader.get("/knowledge/articles", tag="returns")) == {str(public_article.pk)}
        missing = reader.get("/knowledge/articles/no-such-article")
        assert missing.status_code == 404, who
        for key in (internal_article.pk, internal_article.slug):
            hidden = reader.get(f"/knowledge/articles/{key}")
            assert hidden.status_code == 404, who
            assert hidden.json() == missing.json(), who  # indistinguishable from a missing one
            assert reader.get(f"/knowledge/articles/{key}/versions").status_code == 404, who
            assert reader.get(f"/knowledge/articles/{key}/versions/1").status_code == 404, who
        # The history of a public article is staff-only too.
        assert reader.get(f"/knowledge/articles/{public_article.pk}/versions").status_code == 404
        found = reader.get("/knowledge/search", q="returns")
        assert found.status_code == 200, who
        assert {h["article"]["id"] for h in found.json()["hits"]} == {str(public_article.pk)}
        for key in (public_article.pk, public_article.slug):
            assert reader.get(f"/knowledge/articles/{key}").json()["version"] == 1, who


def test_staff_search_finds_internal_articles(
    api: Api, public_article: Article, internal_article: Article
) -> None:
    hits = api.get("/knowledge/search", q="fraud").json()["hits"]
    assert [h["article"]["id"] for h in hits] == [str(internal_article.pk)]
    assert api.get("/knowledge/search").status_code == 422  # q is required


def test_a_bad_token_is_refused_not_treated_as_anonymous(public_article: Article) -> None:
    assert Api("lox_not-a-token").get("/knowledge/articles").status_code == 401


def test_article_rendered_for_a_channel(anonymous: Api, public_article: Article) -> None:
    phone = anonymous.get("/knowledge/articles/returns-policy", channel="phone").json()
    assert "order number back" in phone["body_html"] and "returns form" not in phone["body_html"]
    assert phone["channel"] == "phone" and "<strong>30 days</strong>" in phone["body_html"]
    every = anonymous.get("/knowledge/articles/returns-policy").json()
    assert "order number back" in every["body_html"] and "returns form" in every["body_html"]
    assert every["body_markdown"].startswith("Bring it back")
    assert anonymous.get("/knowledge/articles/returns-policy", channel="fax").status_code == 422


def test_editors_create_and_revise_agents_cannot(
    api: Api, editor_api: Api, anonymous: Api, outsider_api: Api, category: Any
) -> None:
    body = {"title": "Warranty", "body": "One year.", "audience": "public", "category": "returns"}
    assert api.post("/knowledge/articles", body).status_code == 403  # Ann is an agent
    assert anonymous.post("/knowledge/articles", body).status_code == 401
    assert outsider_api.post("/knowledge/articles", body).status_code == 403
    assert not Article.objects.exists()
    created = editor_api.post("/knowledge/articles", {**body, "tags": ["Warranty"]})
    assert created.status_code == 201, created.content
    article = created.json()
    assert article["version"] == 1 and article["tags"] == ["warranty"]
    assert article["category"] == "returns"
    path = f"/knowledge/articles/{article['id']}/versions"
    revision = {"change_note": "two years now", "body": "Two years.", "expected_version": 1}
    assert api.post(path, revision).status_code == 403
    v2 = editor_api.post(path, revision)
    assert v2.status_code == 201 and v2.json()["number"] == 2 and v2.json()["current"]
    stale = editor_api.post(path, {**revision, "body": "Three years."})
    assert stale.status_code == 409 and "version 2 is current" in stale.json()["detail"]
    assert anonymous.get(f"/knowledge/articles/{article['id']}").json()["version"] == 2
    history = api.get(path).json()
    assert [(v["number"], v["current"]) for v in history] == [(2, True), (1, False)]
    assert api.get(f"{path}/1").json()["body_markdown"] == "One year."
    assert api.get(f"{path}/7").status_code == 404
    bad = editor_api.post("/knowledge/articles", {**body, "category": "nope"})
    assert bad.status_code == 400 and "category" in bad.json()["detail"]
    unknown = editor_api.post("/knowledge/articles", {**body, "id": "x"})
    assert unknown.status_code == 422


def test_revision_can_clear_review_date(editor_api: Api, supervisor: User) -> None:
    article = services.create_article(
        by=supervisor, title="Old", body="Text", review_by=date(2020, 1, 1)
    )
    assert editor_api.get(f"/knowledge/articles/{article.pk}").json()["stale"] is True
    path = f"/knowledge/articles/{article.pk}/versions"
    assert editor_api.post(path, {"change_note": "title only", "title": "Older"}).status_code == 201
    assert editor_api.get(f"/knowledge/articles/{article.pk}").json()["stale"] is True
    assert editor_api.post(path, {"change_note": "checked", "review_by": None}).status_code == 201
    again = editor_api.get(f"/knowledge/articles/{article.pk}").json()
    assert again["stale"] is False and again["title"] == "Older" and again["version"] == 3


def test_openapi_documents_every_knowledge_route(anonymous: Api) -> None:
    schema = anonymous.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/knowledge/articles", "get"),
        ("/api/v1/knowledge/articles", "post"),
        ("/api/v1/knowledge/articles/{id_or_slug}", "get"),
        ("/api/v1/knowledge/articles/{id_or_slug}/versions", "get"),
        ("/api/v1/knowledge/articles/{id_or_slug}/versions", "post"),
        ("/api/v1/knowledge/articles/{id_or_slug}/versions/{number}", "get"),
        ("/api/v1/knowledge/search", "get"),
        ("/api/v1/knowledge/citations", "get"),
        ("/api/v1/knowledge/citations", "post"),
        ("/api/v1/knowledge/citations/report", "get"),
    ]:
        assert method in paths[path], path
        assert paths[path][method].get("description"), (path, method)
    components = schema["components"]["schemas"]
    for name in ("ArticleDetailOut", "ArticlePage", "VersionOut", "ArticleIn", "RevisionIn",
                 "SearchOut", "HitOut", "CitationIn", "CitationOut", "CitationPageOut",
                 "ReportOut", "ReportArticleOut", "ReportRowOut"):  # fmt: skip
        undocumented = [
            f for f, d in components[name]["properties"].items() if not d.get("description")
        ]
        assert not undocumented, (name, undocumented)
    for path, operations in paths.items():
        if path.startswith("/api/v1/knowledge/articles") or "citations" in path or "search" in path:
            for op in operations.values():
                for parameter in op.get("parameters", []):
                    assert parameter.get("description") or parameter["schema"].get("description")


def test_article_list_pages_with_a_cursor(anonymous: Api, supervisor: User) -> None:
    made = {
        str(services.create_article(by=supervisor, title=f"Answer {i}", body="Text",
                                    audience="public" if i % 3 else "internal").pk)
        for i in range(12)
    }  # fmt: skip
    public = {a for a in made if Article.objects.get(pk=a).audience == "public"}
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = anonymous.get("/knowledge/articles", limit=3, cursor=cursor).json()
        assert len(page["items"]) <= 3
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(seen) == public and len(public) == 8
    assert anonymous.get("/knowledge/articles", cursor="garbage").status_code == 400
    assert anonymous.get("/knowledge/articles", limit=0).status_code == 422
