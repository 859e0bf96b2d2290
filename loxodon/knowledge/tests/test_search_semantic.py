# ruff: noqa: F811 (pytest fixtures imported from search_fixtures are redefined as arguments)
"""Semantic search (WordLlama, optional): on and off, audience isolation, no download."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from loxodon.knowledge.models import Article
from loxodon.knowledge.search import articles_for_problem, index, search_articles, semantic
from loxodon.knowledge.tests.search_fixtures import (  # noqa: F401 (fixtures)
    fresh_search_caches,
    write,
)
from loxodon.org.models import User

pytestmark = pytest.mark.django_db
wordllama = pytest.importorskip("wordllama")

Write = Callable[..., Article]


@pytest.fixture
def library(write: Write) -> None:
    write("Refund for returned items", "We pay the purchase price within 14 days of the return.",
          audience="public")  # fmt: skip
    write("Store opening hours", "Our stores open nine to five, Monday to Saturday.",
          audience="public")  # fmt: skip
    write("Goodwill credit for angry customers", "Staff may credit up to twenty pounds.",
          audience="internal")  # fmt: skip


def titles(results: Any) -> list[str]:
    return [h.article.title for h in results.hits]


def test_meaning_finds_articles_without_shared_words(library: None, agent: User) -> None:
    results = search_articles(agent, "money back", semantic=True)
    assert results.mode == "hybrid"
    assert titles(results)[0] == "Refund for returned items"
    assert search_articles(agent, "when are you open", semantic=True).hits[0].article.title == (
        "Store opening hours"
    )


def test_off_by_argument_and_by_setting(library: None, agent: User, settings: Any) -> None:
    off = search_articles(agent, "money back", semantic=False)
    assert off.mode == "fulltext" and off.hits == []
    settings.LOXODON_KB_SEMANTIC = "0"
    by_setting = search_articles(agent, "money back")
    assert by_setting.mode == "fulltext" and by_setting.hits == []
    settings.LOXODON_KB_SEMANTIC = "1"
    assert search_articles(agent, "money back").mode == "hybrid"


def test_without_the_package_everything_still_works(
    write: Write, agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic, "_model", None)
    monkeypatch.setattr(semantic, "_model_failed", True)  # as if `import wordllama` failed
    write("Refund for returned items", "Purchase price back.", audience="public")
    results = search_articles(agent, "refund", semantic=True)
    assert results.mode == "fulltext" and titles(results) == ["Refund for returned items"]
    assert articles_for_problem(agent, "I want a refund")[0].article.title == (
        "Refund for returned items"
    )
    assert index.embeddings_since(0)[0][4] is None  # indexed without an embedding


def test_semantic_never_gives_the_public_internal_articles(library: None) -> None:
    for q in ("goodwill credit", "compensation for an unhappy customer", "money", "angry"):
        results = search_articles(None, q, semantic=True)
        assert all(h.article.audience == "public" for h in results.hits), q
        hits = articles_for_problem(None, q)
        assert all(h.article.audience == "public" for h in hits), q


def test_case_text_uses_meaning(library: None, agent: User) -> None:
    hits = articles_for_problem(agent, "Wants her money back for the parcel she sent us")
    assert hits and hits[0].article.title == "Refund for returned items"


def test_embeddings_stored_as_float32(library: None) -> None:
    rows = index.embeddings_since(0)
    assert len(rows) == 3 and all(len(r[4] or b"") == semantic.DIM * 4 for r in rows)


def test_model_loads_from_the_wheel_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No download: every socket connection fails, the model still loads (from the wheel)."""

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("HOME", "/nonexistent-home")  # no ~/.cache/wordllama to fall back on
    monkeypatch.setattr(semantic, "_model", None)
    monkeypatch.setattr(semantic, "_model_failed", False)
    model = semantic.model()
    assert model is not None
    assert semantic.embed(["refurbished laptop"]).shape == (1, semantic.DIM)
