# ruff: noqa: F811 (pytest fixtures imported from search_fixtures are redefined as arguments)
"""Search through the one interface: ranking, snippets, audience, archive, revise, odd queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loxodon.knowledge.models import Article
from loxodon.knowledge.search import (
    articles_for_problem,
    rebuild_index,
    search_articles,
    suggest,
)
from loxodon.knowledge.tests.search_fixtures import (  # noqa: F401 (fixtures)
    archive,
    fresh_search_caches,
    revise,
    write,
)
from loxodon.org.models import User

pytestmark = pytest.mark.django_db

Write = Callable[..., Article]


def titles(results: Any) -> list[str]:
    return [h.article.title for h in results.hits]


def test_title_match_ranks_above_body_match(write: Write, agent: User) -> None:
    write("Charging cables", "Which cable fits which device. Mentions the warranty once.")
    write("Warranty on refurbished phones", "Ninety days from the date of purchase.")
    write("Unrelated", "Opening hours of the London store.")
    results = search_articles(agent, "warranty", semantic=False)
    assert titles(results) == ["Warranty on refurbished phones", "Charging cables"]
    assert results.total == 2 and results.mode == "fulltext"
    assert results.hits[0].rank > results.hits[1].rank
    current = results.hits[0].article.current
    assert current is not None and current.number == 1


def test_stemming_finds_other_forms(write: Write, agent: User) -> None:
    write("Refunds", "We refund the purchase price when a phone is returned.")
    assert titles(search_articles(agent, "refunding returns", semantic=False)) == ["Refunds"]


def test_snippet_marks_matches_and_escapes_html(write: Write, agent: User) -> None:
    write(
        "Scripted",
        "Customers may paste <script>alert('x')</script> into the form; the battery "
        "replacement costs £49 & takes an hour.",
    )
    hit = search_articles(agent, "battery script", semantic=False).hits[0]
    assert "<script>" not in hit.snippet_html
    assert "&lt;<mark>script</mark>&gt;" in hit.snippet_html
    assert "<mark>battery</mark>" in hit.snippet_html
    assert "&amp;" in hit.snippet_html
    title_hit = search_articles(agent, "scripted", semantic=False)
    assert "<script>" not in title_hit.hits[0].snippet_html


@pytest.mark.parametrize("query", ["returns", "secret", "returns secret", "secret OR returns",
                                   "audience internal", "*", "secret*"])  # fmt: skip
def test_internal_articles_never_reach_the_public(write: Write, agent: User, query: str) -> None:
    write("Returns", "Thirty days for returns.", audience="public")
    write("Secret returns trick", "Internal: the secret override for returns.", audience="internal")
    public = search_articles(None, query)
    assert all(h.article.audience == "public" for h in public.hits)
    assert "Secret returns trick" not in titles(public)
    assert all("Secret" not in s for s in suggest(query, viewer=None))
    assert all(h.article.audience == "public" for h in articles_for_problem(None, query))
    if "secret" in query:
        assert "Secret returns trick" in titles(search_articles(agent, query, semantic=False))


def test_public_gets_no_suggestion_from_internal_words(write: Write) -> None:
    write("Overrides", "The zanzibar override.", audience="internal")
    write("Returns", "Thirty days.", audience="public")
    assert search_articles(None, "zanzibr").suggestion is None


def test_archived_articles_are_excluded(write: Write, archive: Any, agent: User) -> None:
    old = write("Old returns policy", "Fourteen days for returns.", audience="public")
    write("Returns", "Thirty days for returns.", audience="public")
    archive(old)
    assert titles(search_articles(agent, "returns", semantic=False)) == ["Returns"]
    assert titles(search_articles(None, "returns", semantic=False)) == ["Returns"]
    with_archived = search_articles(agent, "returns", semantic=False, include_archived=True)
    assert set(titles(with_archived)) == {"Returns", "Old returns policy"}


def test_index_follows_revisions(write: Write, revise: Any, agent: User) -> None:
    article = write("Battery swap", "Takes an hour in store.", audience="internal")
    revise(article, title="Screen repair", body="Takes two days, sent to the workshop.",
           audience="public")  # fmt: skip
    assert search_articles(agent, "battery", semantic=False).total == 0
    assert search_articles(agent, "hour", semantic=False).total == 0
    found = search_articles(None, "workshop", semantic=False)
    assert titles(found) == ["Screen repair"]
    current = found.hits[0].article.current
    assert current is not None and current.number == 2
    revise(article, audience="internal")
    assert search_articles(None, "workshop").total == 0


@pytest.mark.parametrize(
    "query",
    ['"', '""', "AND", "OR", "NOT", "NEAR", "*", "-", "- returns", "returns -", "title:returns",
     "(returns", "returns)", "^returns", "'; DROP TABLE x; --", "%", "_", "\\", "{}", "a:b:c",
     "café über naïve", "返品", "😀", "returns " * 200, "x" * 1000, "\x00", "   ", ""],
)  # fmt: skip
def test_weird_queries_never_raise(write: Write, agent: User, query: str) -> None:
    write("Returns", "Thirty days for returns.", audience="public")
    for viewer in (agent, None):
        for sem in (False, None):
            results = search_articles(viewer, query, semantic=sem)
            assert results.total >= 0
        suggest(query, viewer=viewer)
        articles_for_problem(viewer, query)


def test_empty_query_is_empty_results(write: Write, agent: User) -> None:
    write("Returns", "Thirty days.", audience="public")
    results = search_articles(agent, "  ")
    assert results.hits == [] and results.total == 0 and results.suggestion is None


def test_unicode_words_match(write: Write, agent: User) -> None:
    write("Café opening hours", "Le café ouvre à huit heures.", audience="public")
    assert titles(search_articles(None, "café", semantic=False)) == ["Café opening hours"]
    assert titles(search_articles(None, "cafe", semantic=False)) == ["Café opening hours"]


def test_typo_suggests_and_searches_the_correction(write: Write, agent: User) -> None:
    write("Refurbished phones", "A refurbished phone has a ninety day warranty.",
          audience="public")  # fmt: skip
    results = search_articles(None, "refurbsihed warranty", semantic=False)
    assert results.suggestion == "refurbished warranty"
    assert results.corrected is True
    assert titles(results) == ["Refurbished phones"]
    assert search_articles(None, "refurbished", semantic=False).suggestion is None


def test_suggest_typeahead(write: Write, agent: User) -> None:
    write("Refurbished phones", "Ninety days.", audience="public")
    write("Refunds", "Thirty days.", audience="public")
    write("Store hours", "Nine to five.", audience="public")
    assert set(suggest("ref", viewer=None)) == {"Refurbished phones", "Refunds"}
    assert suggest("refurb ph", viewer=None) == ["Refurbished phones"]
    assert suggest("", viewer=None) == []


def test_filters_category_and_audience(write: Write, agent: User) -> None:
    from loxodon.knowledge.models import Category

    phones = Category.objects.create(name="Phones", slug="phones")
    write("Phone returns", "Returns of phones.", audience="public", category=phones)
    write("Laptop returns", "Returns of laptops.", audience="internal")
    assert titles(search_articles(agent, "returns", category="phones", semantic=False)) == [
        "Phone returns"
    ]
    assert titles(search_articles(agent, "returns", audience="internal", semantic=False)) == [
        "Laptop returns"
    ]
    # the public cannot widen its audience
    assert titles(search_articles(None, "returns", audience="internal", semantic=False)) == [
        "Phone returns"
    ]


def test_pagination(write: Write, agent: User) -> None:
    for i in range(7):
        write(f"Returns note {i}", "About returns.", audience="public")
    first = search_articles(agent, "returns", limit=3, semantic=False)
    second = search_articles(agent, "returns", limit=3, offset=3, semantic=False)
    third = search_articles(agent, "returns", limit=3, offset=6, semantic=False)
    seen = titles(first) + titles(second) + titles(third)
    assert first.total == 7 and len(seen) == 7 and len(set(seen)) == 7


def test_rebuild_index(write: Write, agent: User) -> None:
    write("Returns", "Thirty days.", audience="public")
    write("Warranty", "One year.", audience="internal")
    calls: list[tuple[int, int]] = []
    assert rebuild_index(lambda done, total: calls.append((done, total))) == 2
    assert calls[-1] == (2, 2)
    assert titles(search_articles(agent, "warranty", semantic=False)) == ["Warranty"]
    assert search_articles(None, "warranty").total == 0
    assert search_articles(None, "retrns", semantic=False).suggestion == "returns"


def test_problem_text_finds_articles(write: Write, agent: User) -> None:
    write("Phone will not charge", "Try another cable, then reset the phone.")
    write("Store hours", "Nine to five.")
    hits = articles_for_problem(agent, "My phone stopped charging yesterday after the update")
    assert hits[0].article.title == "Phone will not charge"


def test_deleted_article_leaves_the_index(write: Write, agent: User) -> None:
    from loxodon.knowledge.models import ArticleVersion
    from loxodon.knowledge.search import index_article

    article = write("Zanzibar returns", "Thirty days.", audience="public")
    Article.objects.filter(pk=article.pk).update(current=None)
    ArticleVersion.objects.filter(article=article).delete()
    Article.objects.filter(pk=article.pk).delete()
    index_article(article)
    assert search_articles(agent, "zanzibar", semantic=False).total == 0
    assert search_articles(agent, "zanzibr", semantic=False).suggestion is None


def test_very_common_words_rank_title_matches_first(
    write: Write, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loxodon.knowledge.search import index

    monkeypatch.setattr(index, "COUNT_CAP", 3)  # "very common" from 3 matches on
    for i in range(4):
        write(f"Note {i}", f"Body {i} mentions the warranty.", audience="public")
    write("Warranty terms", "Ninety days.", audience="public")
    first = search_articles(None, "warranty", limit=1, semantic=False)
    assert titles(first) == ["Warranty terms"] and first.total == 3 and first.capped
    every = search_articles(None, "warranty", limit=10, semantic=False)
    assert len(every.hits) == 5 and titles(every)[0] == "Warranty terms"


@pytest.mark.django_db(transaction=True)
def test_caches_forget_what_a_rollback_removed(supervisor: User) -> None:
    """A test (or a failed transaction) rolled back: the per-process vocabulary must not keep
    suggesting its words."""
    from django.db import transaction

    from loxodon.knowledge import services

    class Rollback(Exception):
        pass

    services.create_article(by=supervisor, title="Anchor", body="Anchor text.", audience="public")
    from loxodon.knowledge.search import index_article

    index_article(Article.objects.get(title="Anchor"))
    assert search_articles(None, "anchr", semantic=False).suggestion == "anchor"
    with pytest.raises(Rollback), transaction.atomic():
        article = services.create_article(
            by=supervisor, title="Zanzibar", body="Zanzibar text.", audience="public"
        )
        index_article(article)
        assert search_articles(None, "zanzibr", semantic=False).suggestion == "zanzibar"
        raise Rollback
    assert search_articles(None, "zanzibr", semantic=False).suggestion is None
    from loxodon.knowledge.search import index

    with transaction.atomic():
        index.clear()  # Django's flush after this test empties model tables only
