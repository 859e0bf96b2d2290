"""Fixtures for the "my picture" tests: two customers A and B, each signed in to the portal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.services import create_customer
from loxodon.portal.access import SESSION_KEY
from loxodon.portal.models import PortalLogin


@dataclass
class Person:
    customer: Customer
    login: PortalLogin
    client: Client


def make_person(
    name: str, email: str, *, account: str | None = None, admin: bool = False
) -> Person:
    customer = create_customer(
        name=name,
        email=email,
        verified=True,
        account={"name": account} if account else None,
    )
    identity = Identity.objects.get(customer=customer, kind=IdentityKind.EMAIL)
    login = PortalLogin.objects.create(customer=customer, identity=identity, is_account_admin=admin)
    client = Client()
    session = client.session
    session[SESSION_KEY] = str(login.pk)
    session.save()
    return Person(customer=customer, login=login, client=client)


@pytest.fixture
def alice(db: None) -> Person:
    return make_person("Alice Adams", "alice@example.com")


@pytest.fixture
def bob(db: None) -> Person:
    return make_person("Bob Brown", "bob@example.com")
