"""Fixtures for the search tests: articles written through the services, indexed on commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from loxodon.knowledge import services
from loxodon.knowledge.models import Article
from loxodon.knowledge.search import semantic, vocabulary
from loxodon.org.models import User


@pytest.fixture(autouse=True)
def fresh_search_caches() -> Iterator[None]:
    """Per-process caches follow the index generation; tests roll the database back under them."""
    semantic.forget()
    vocabulary.forget()
    yield
    semantic.forget()
    vocabulary.forget()


@pytest.fixture
def write(supervisor: User, django_capture_on_commit_callbacks: Any) -> Callable[..., Article]:
    """create_article as Sue, running the on-commit indexing as a real commit would."""

    def create(title: str, body: str, **kwargs: Any) -> Article:
        with django_capture_on_commit_callbacks(execute=True):
            return services.create_article(by=supervisor, title=title, body=body, **kwargs)

    return create


@pytest.fixture
def revise(supervisor: User, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def run(article: Article, **kwargs: Any) -> Any:
        kwargs.setdefault("change_note", "test edit")
        with django_capture_on_commit_callbacks(execute=True):
            return services.revise_article(article=article, by=supervisor, **kwargs)

    return run


@pytest.fixture
def archive(supervisor: User, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def run(article: Article) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return services.archive_article(article=article, by=supervisor, reason="retired")

    return run
