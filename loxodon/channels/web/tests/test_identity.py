"""Identity tokens (identity.py): what the company's server signs, and who it names."""

from __future__ import annotations

from typing import Any

import pytest

from loxodon.channels.web.identity import (
    VisitorIdentity,
    customer_for_visitor,
    sign_identity,
    verify_identity,
)
from loxodon.channels.web.models import WebProperty
from loxodon.core.errors import InvalidInput
from loxodon.customers.models import Customer, Identity
from loxodon.customers.services import create_customer

NOW = 1_800_000_000.0


def token(prop: WebProperty, **claims: Any) -> str:
    claims.setdefault("exp", int(NOW) + 600)
    return sign_identity(prop.identity_secret, claims)


def test_a_valid_token_names_the_visitor(shop: WebProperty) -> None:
    who = verify_identity(
        shop, token(shop, email="jo@example.com", account_number="AC-1", name="Jo"), now=NOW
    )
    assert who == VisitorIdentity(email="jo@example.com", account_number="AC-1", name="Jo")


def test_a_tampered_token_is_refused(shop: WebProperty) -> None:
    good = token(shop, email="jo@example.com")
    forged = sign_identity("not-the-secret", {"email": "boss@example.com", "exp": int(NOW) + 60})
    body, sig = good.split(".")
    with pytest.raises(InvalidInput, match="signature"):
        verify_identity(shop, forged.split(".")[0] + "." + sig, now=NOW)
    with pytest.raises(InvalidInput, match="signature"):
        verify_identity(shop, forged, now=NOW)
    with pytest.raises(InvalidInput, match="malformed"):
        verify_identity(shop, body, now=NOW)


def test_an_expired_token_is_refused(shop: WebProperty) -> None:
    with pytest.raises(InvalidInput, match="expired"):
        verify_identity(shop, token(shop, email="jo@example.com", exp=int(NOW) - 1), now=NOW)
    with pytest.raises(InvalidInput, match="expired"):
        verify_identity(shop, sign_identity(shop.identity_secret, {"email": "a@b.c"}), now=NOW)


def test_a_token_living_longer_than_a_day_is_refused(shop: WebProperty) -> None:
    with pytest.raises(InvalidInput, match="too long"):
        verify_identity(
            shop, token(shop, email="jo@example.com", exp=int(NOW) + 25 * 3600), now=NOW
        )


def test_a_token_naming_nobody_is_refused(shop: WebProperty) -> None:
    with pytest.raises(InvalidInput, match="names no customer"):
        verify_identity(shop, token(shop, name="Jo"), now=NOW)


def test_a_token_for_another_property_is_refused(shop: WebProperty) -> None:
    other = WebProperty.objects.create(name="Blog")
    with pytest.raises(InvalidInput, match="signature"):
        verify_identity(shop, token(other, email="jo@example.com"), now=NOW)


def test_customer_for_visitor_creates_a_verified_customer_once(shop: WebProperty) -> None:
    who = VisitorIdentity(email="New.Person@Example.com", account_number=None, name="New Person")
    first = customer_for_visitor(shop, who)
    again = customer_for_visitor(shop, who)
    assert first is not None and again is not None and first.pk == again.pk
    assert first.name == "New Person"
    identity = Identity.objects.get(customer=first)
    assert (identity.kind, identity.value, identity.verified) == (
        "email",
        "new.person@example.com",
        True,
    )
    assert Customer.objects.count() == 1


def test_customer_for_visitor_finds_existing_customers(shop: WebProperty) -> None:
    jo = create_customer(name="Jo", email="jo@example.com", account_number="AC-100")
    by_account = customer_for_visitor(
        shop, VisitorIdentity(email=None, account_number="ac-100", name=None)
    )
    both = customer_for_visitor(
        shop, VisitorIdentity(email="JO@example.com", account_number="AC-100", name=None)
    )
    assert by_account is not None and by_account.pk == jo.pk
    assert both is not None and both.pk == jo.pk
    assert Customer.objects.count() == 1


def test_customer_for_visitor_refuses_to_guess_between_two_customers(shop: WebProperty) -> None:
    create_customer(name="Jo", email="jo@example.com", verified=True)
    create_customer(name="Al", account_number="AC-200", verified=True)
    who = VisitorIdentity(email="jo@example.com", account_number="AC-200", name=None)
    assert customer_for_visitor(shop, who) is None
    assert Customer.objects.count() == 2
