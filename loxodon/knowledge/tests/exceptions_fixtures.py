"""Fixtures for the policy exception tests: a returns policy, staff with different authority,
and an open case of Ann's (import the names you use into the test module)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.core.testing import Api, signed_in
from loxodon.customers.models import Customer
from loxodon.knowledge import services
from loxodon.knowledge.models import Article
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_api_token, create_staff

RETURNS_POLICY: dict[str, Any] = {
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
            "authority": {"agent": 0, "supervisor": 1},
        },
        {
            "key": "restocking_fee",
            "label": "Restocking fee charged",
            "type": "boolean",
            "value": True,
            "authority": {"agent": 1},
        },
    ]
}


@pytest.fixture
def supervisor_two(site: Site, departments: dict[str, Department]) -> User:
    """Sam, a second supervisor (so Sue's own requests can be decided by someone)."""
    return create_staff(
        username="sam",
        first_name="Sam",
        last_name="Second",
        role="supervisor",
        site=site,
        department=departments["support-hardware"],
    )


@pytest.fixture
def admin_user(site: Site, departments: dict[str, Department]) -> User:
    return create_staff(
        username="ada",
        first_name="Ada",
        last_name="Admin",
        role="admin",
        site=site,
        department=departments["support-hardware"],
    )


@pytest.fixture
def returns_policy(supervisor: User) -> Article:
    return services.create_article(
        by=supervisor,
        title="Returns policy",
        slug="returns",
        body="You may return a product within **30 days**.",
        audience="public",
        policy=RETURNS_POLICY,
    )


@pytest.fixture
def plain_article(supervisor: User) -> Article:
    return services.create_article(
        by=supervisor, title="Resetting a router", body="Hold the button for ten seconds."
    )


@pytest.fixture
def case(customer: dict[str, Any], agent: User) -> Case:
    return open_case(
        customer=Customer.objects.get(pk=customer["id"]),
        problem="Laptop bought 40 days ago will not boot; wants to return it",
        actor=agent,
        owner=agent,
    )


@pytest.fixture
def sue_desk(supervisor: User) -> Client:
    return signed_in(supervisor)


@pytest.fixture
def sam_desk(supervisor_two: User) -> Client:
    return signed_in(supervisor_two)


@pytest.fixture
def sue_api(supervisor: User) -> Api:
    return Api(create_api_token(username=supervisor.username))


@pytest.fixture
def sam_api(supervisor_two: User) -> Api:
    return Api(create_api_token(username=supervisor_two.username))
