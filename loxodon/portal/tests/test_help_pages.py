"""The portal's help pages: public current versions only, and one answer with the desk and API."""
# ruff: noqa: F811 (pytest fixtures imported from citations_fixtures are redefined as arguments)

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from loxodon.core.testing import Api
from loxodon.knowledge import services
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.citations_fixtures import (  # noqa: F401 (fixtures)
    category,
    fresh_search_caches,
    indexed,
    internal_article,
    public_article,
)
from loxodon.org.models import User

pytestmark = pytest.mark.django_db

ONE_ANSWER_BODY = """Refurbished laptops have a **90 day** warranty.

:::web
Start a claim from *My orders*.
:::

:::phone
Take the serial number.
:::
"""


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def between(text: str, start: str, end: str = "</div>") -> str:
    match = re.search(re.escape(start) + r"(.*?)" + re.escape(end), text, re.S)
    assert match, start
    return match.group(1)


def test_help_centre_lists_public_articles_by_category(
    client: Client, public_article: Article, internal_article: Article
) -> None:
    text = page(client, "/portal/help/")
    assert "Returns and refunds" in text and 'href="/portal/help/returns-policy/"' in text
    assert "Fraud checks" not in text and "fraud-checks" not in text
    assert 'name="q"' in text and "Search the help centre" in text  # labelled search box
    # anonymous /portal/ is the sign-in page (which links to the help centre)
    assert client.get("/portal/")["Location"].startswith("/portal/sign-in/")


def test_help_centre_empty_state(client: Client, internal_article: Article) -> None:
    assert "There are no help articles yet" in page(client, "/portal/help/")


def test_article_page_shows_current_public_version_for_the_web(
    client: Client, public_article: Article, supervisor: User
) -> None:
    services.revise_article(
        article=public_article, by=supervisor, change_note="web section", body=ONE_ANSWER_BODY
    )
    text = page(client, "/portal/help/returns-policy/")
    assert "Version 2 · updated" in html.unescape(text)
    assert "Start a claim from <em>My orders</em>" in text  # the web section…
    assert "serial number" not in text  # …not the phone one
    assert "<strong>90 day</strong>" in text and "30 days" not in text


def test_internal_archived_and_missing_articles_are_404_alike(
    client: Client, public_article: Article, internal_article: Article, supervisor: User
) -> None:
    missing = page(client, "/portal/help/no-such-article/", status=404)
    assert page(client, "/portal/help/fraud-checks/", status=404) == missing
    services.archive_article(article=public_article, by=supervisor, reason="replaced")
    assert page(client, "/portal/help/returns-policy/", status=404) == missing
    assert "Returns policy" not in page(client, "/portal/help/")


def test_search_shows_snippets_public_only_and_did_you_mean(
    client: Client, public_article: Article, internal_article: Article
) -> None:
    text = page(client, "/portal/help/search?q=returns")
    assert 'href="/portal/help/returns-policy/"' in text and "Fraud checks" not in text
    assert "portal-snippet" in text
    typo = html.unescape(page(client, "/portal/help/search?q=retrns"))
    assert "Did you mean" in typo or "Showing results for" in typo
    assert "returns" in typo.lower()
    nothing = html.unescape(page(client, "/portal/help/search?q=zzzqqq"))
    assert "No results for “zzzqqq”" in nothing and "Try fewer or different words" in nothing
    assert "Type a few words" in page(client, "/portal/help/search")
    # A staff-only word gives the public neither hits nor a suggestion.
    blacklist = html.unescape(page(client, "/portal/help/search?q=blacklist"))
    assert "No results" in blacklist and "fraud" not in blacklist.lower()


def test_one_answer_on_desk_portal_and_api(
    client: Client, desk: Client, anonymous: Api, supervisor: User, indexed: Any, category: Any
) -> None:
    with indexed():
        article = services.create_article(
            by=supervisor,
            title="Refurbished warranty",
            body=ONE_ANSWER_BODY,
            audience="public",
            slug="refurbished-warranty",
        )

    def served() -> tuple[set[str], set[str]]:
        portal = page(client, "/portal/help/refurbished-warranty/")
        on_desk = page(desk, "/desk/kb/refurbished-warranty/?channel=web")
        api = anonymous.get("/knowledge/articles/refurbished-warranty", channel="web").json()
        numbers = {
            between(portal, 'data-version="', '"'),
            between(on_desk, 'id="kb-version">', "<"),
            str(api["version"]),
        }
        bodies = {
            between(portal, '<div class="portal-body">').strip(),
            between(on_desk, '<div class="kb-body" id="kb-body">').strip(),
            api["body_html"].strip(),
        }
        return numbers, bodies

    numbers, bodies = served()
    assert numbers == {"1"} and len(bodies) == 1 and "90 day" in bodies.pop()
    with indexed():
        services.revise_article(
            article=article,
            by=supervisor,
            change_note="longer warranty",
            body=ONE_ANSWER_BODY.replace("90 day", "120 day"),
        )
    numbers, bodies = served()
    assert numbers == {"2"} and len(bodies) == 1 and "120 day" in bodies.pop()
    found = anonymous.get("/knowledge/search", q="refurbished warranty").json()
    assert found["hits"][0]["article"]["version"] == 2
