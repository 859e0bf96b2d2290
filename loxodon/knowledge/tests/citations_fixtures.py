"""Fixtures for the knowledge API, citation and portal tests: articles of both audiences, a case.

Import the fixtures you need by name into a test module (with `# ruff: noqa: F811`),
next to the root conftest's site, agent, supervisor and customer fixtures.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.core.testing import Api
from loxodon.customers.models import Customer
from loxodon.knowledge import services
from loxodon.knowledge.models import Article, Category
from loxodon.org.models import User
from loxodon.org.services import create_api_token

RETURNS_BODY = """Bring it back within **30 days** with the receipt.

:::phone
Read the order number back to the customer.
:::

:::email
Reply with the returns form attached.
:::
"""


@pytest.fixture(autouse=True)
def fresh_search_caches() -> Iterator[None]:
    """The search index's per-process caches follow a generation the test rollback rewinds."""

    def forget() -> None:
        for name in ("semantic", "vocabulary"):
            try:
                module = importlib.import_module(f"loxodon.knowledge.search.{name}")
            except ImportError:
                continue
            getattr(module, "forget", lambda: None)()

    forget()
    yield
    forget()


@pytest.fixture
def indexed(django_capture_on_commit_callbacks: Any) -> Any:
    """`with indexed():` runs the on-commit search indexing as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def category(db: None) -> Category:
    return Category.objects.create(name="Returns and refunds", slug="returns")


@pytest.fixture
def public_article(supervisor: User, category: Category, indexed: Any) -> Article:
    with indexed():
        return services.create_article(
            by=supervisor,
            title="Returns policy",
            body=RETURNS_BODY,
            audience="public",
            slug="returns-policy",
            category=category,
            tags=["returns"],
        )


@pytest.fixture
def internal_article(supervisor: User, category: Category, indexed: Any) -> Article:
    with indexed():
        return services.create_article(
            by=supervisor,
            title="Fraud checks on returns",
            body="Check the returns blacklist **before** refunding. returns fraud",
            audience="internal",
            slug="fraud-checks",
            category=category,
            tags=["returns"],
        )


@pytest.fixture
def outsider(db: None) -> User:
    """Signed in but not staff (a role the organisation does not have)."""
    return User.objects.create_user("olly", role="customer")


@pytest.fixture
def outsider_api(outsider: User) -> Api:
    return Api(create_api_token(username=outsider.username))


@pytest.fixture
def editor_api(supervisor: User) -> Api:
    return Api(create_api_token(username=supervisor.username))


@pytest.fixture
def case(customer: dict[str, Any], agent: User) -> Case:
    """Jo's case, owned by Ann (so Ann's email citations are replies)."""
    return open_case(
        customer=Customer.objects.get(pk=customer["id"]),
        problem="Wants to return a laptop bought three weeks ago",
        actor=agent,
        owner=agent,
    )
