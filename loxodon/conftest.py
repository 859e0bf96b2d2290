"""Shared fixtures: a small organisation, staff, and an API client that speaks JSON with a token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from loxodon.core.testing import Api, signed_in
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_api_token, create_department, create_site, create_staff

DEPARTMENTS = {
    "sales-business": "Sales (business)",
    "sales-consumer": "Sales (consumer)",
    "finance": "Finance",
    "support-software": "Technical support (software)",
    "support-hardware": "Technical support (hardware)",
    "parts": "Parts",
    "warranty": "Warranty",
}


@pytest.fixture
def site(db: None) -> Site:
    return create_site(code="lon", name="London", time_zone="Europe/London")


@pytest.fixture
def other_site(db: None) -> Site:
    return create_site(code="man", name="Manchester", time_zone="Europe/London")


@pytest.fixture
def departments(db: None) -> dict[str, Department]:
    return {code: create_department(code=code, name=name) for code, name in DEPARTMENTS.items()}


@pytest.fixture
def agent(site: Site, departments: dict[str, Department]) -> User:
    return create_staff(
        username="ann",
        first_name="Ann",
        last_name="Agent",
        role="agent",
        site=site,
        department=departments["sales-business"],
    )


@pytest.fixture
def colleague(other_site: Site, departments: dict[str, Department]) -> User:
    return create_staff(
        username="carl",
        first_name="Carl",
        last_name="Colleague",
        role="agent",
        site=other_site,
        department=departments["support-hardware"],
    )


@pytest.fixture
def supervisor(site: Site, departments: dict[str, Department]) -> User:
    """Sue, a supervisor at Ann's site (London, hardware support)."""
    return create_staff(
        username="sue",
        first_name="Sue",
        last_name="Supervisor",
        role="supervisor",
        site=site,
        department=departments["support-hardware"],
    )


@pytest.fixture
def desk(agent: User) -> Client:
    """A browser session signed in as the agent (Ann, London, business sales)."""
    return signed_in(agent)


@pytest.fixture
def api(agent: User) -> Api:
    return Api(create_api_token(username=agent.username))


@pytest.fixture
def anonymous(db: None) -> Api:
    return Api(None)


@pytest.fixture
def customer(api: Api) -> dict[str, Any]:
    response = api.post(
        "/customers",
        {
            "name": "Jo Bloggs",
            "email": "Jo.Bloggs@Example.com",
            "phone": "01632 960001",
            "account_number": "ac-100200",
            "verified": True,
            "site": "lon",
        },
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.fixture(autouse=True, scope="session")
def short_lived_connections() -> None:
    """Tests start server threads (browser, WebSocket, concurrency tests); with persistent
    connections those threads would keep the test database open and block its teardown."""
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True, scope="session")
def erasure_ledger_of_the_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Erasures made by tests (the API fuzzer reaches the erase route too) go to a ledger of the
    test run, never to the checkout's var/erasures.jsonl that `loxodon restore` would replay."""
    from django.conf import settings

    settings.LOXODON_ERASURE_LEDGER = str(tmp_path_factory.mktemp("ledger") / "erasures.jsonl")
