# ruff: noqa: F811 (pytest fixtures imported from auth_fixtures are redefined as arguments)
"""The account page through HTTP: my details, phone and address corrections (each an event on
my timeline the customer may see), and changing email with re-verification over real SMTP."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from loxodon.core.event_types import INTERNAL_KINDS
from loxodon.customers.models import Customer, Identity
from loxodon.portal.models import MagicLink, PortalLogin
from loxodon.portal.tests.auth_fixtures import (  # noqa: F401 (fixtures)
    Mailbox,
    alice,
    alice_login,
    bob,
    fresh_rate_limits,
    sign_in_as,
    smtp,
)
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def events_of(customer: Customer) -> list[Event]:
    return list(
        Event.objects.filter(customer=customer, kind="contact_details_changed").order_by(
            "occurred_at"
        )
    )


def test_account_page_shows_my_details(alice_login: PortalLogin) -> None:
    client = sign_in_as(alice_login)
    page = client.get("/portal/account/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("Alice Able", "alice@example.com", "+442079460001", "1 High Street", "SW1A1AA"):
        assert text in html
    assert page["Cache-Control"] == "private, no-store"
    assert '<label class="form-label" for="id_phone-phone">Phone number' in html
    # not signed in: to the sign-in page, coming back here afterwards
    assert Client().get("/portal/account/")["Location"] == "/portal/sign-in/?next=/portal/account/"


def test_phone_change_is_normalised_and_an_event_i_can_see(alice_login: PortalLogin) -> None:
    client = sign_in_as(alice_login)
    response = client.post("/portal/account/", {"form": "phone", "phone-phone": "020 7946 0999"})
    assert response.status_code == 302
    phones = list(Identity.objects.filter(customer=alice_login.customer, kind="phone"))
    assert [p.value for p in phones] == ["+442079460999"]
    assert not phones[0].verified and phones[0].source == "portal"
    [event] = events_of(alice_login.customer)
    assert (
        event.summary == "Phone number changed by you in the portal: +442079460001 → +442079460999"
    )
    assert event.channel == "web"
    assert event.kind not in INTERNAL_KINDS
    assert "Your phone number is updated" in client.get("/portal/account/").content.decode()

    bad = client.post("/portal/account/", {"form": "phone", "phone-phone": "12"})
    assert bad.status_code == 400
    assert "not a possible phone number" in bad.content.decode()
    same = client.post("/portal/account/", {"form": "phone", "phone-phone": "+44 20 7946 0999"})
    assert same.status_code == 400 and b"already your phone number" in same.content
    assert len(events_of(alice_login.customer)) == 1


def test_address_change_is_an_event(alice_login: PortalLogin) -> None:
    client = sign_in_as(alice_login)
    form = {
        "form": "address",
        "address-street": "2 Low Road",
        "address-city": "Leeds",
        "address-postcode": "ls1 4ap",
        "address-country": "gb",
    }
    assert client.post("/portal/account/", form).status_code == 302
    customer = Customer.objects.get(pk=alice_login.customer_id)
    assert (customer.street, customer.city, customer.postcode, customer.country) == (
        "2 Low Road",
        "Leeds",
        "LS14AP",
        "GB",
    )
    assert customer.profile_verified and customer.profile_updated_at is not None
    [event] = events_of(customer)
    assert event.summary == (
        "Address changed by you in the portal: 1 High Street, London, SW1A1AA → "
        "2 Low Road, Leeds, LS14AP, GB"
    )
    missing = client.post("/portal/account/", {**form, "address-street": ""})
    assert missing.status_code == 400 and b"Enter the street and number" in missing.content
    bad_country = client.post("/portal/account/", {**form, "address-country": "G1"})
    assert bad_country.status_code == 400 and b"two-letter code" in bad_country.content
    assert len(events_of(customer)) == 1


def test_email_change_needs_the_new_address_confirmed(
    smtp: Mailbox, alice_login: PortalLogin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = sign_in_as(alice_login)
    response = client.post("/portal/account/email", {"email-email": "New.Alice@Example.org"})
    assert response.status_code == 302 and response["Location"] == "/portal/account/"

    # a confirm link to the new address, a notice (masked) to the old one; nothing changed yet
    confirm = smtp.body(smtp.to("new.alice@example.org")[0])
    notice = smtp.body(smtp.to("alice@example.com")[0])
    assert "/portal/account/confirm-email#" in confirm
    assert "n***@example.org" in notice and "If this wasn't you, contact us" in notice
    assert "new.alice" not in notice
    token = smtp.token_for("new.alice@example.org")
    assert token not in notice
    assert PortalLogin.objects.get().identity.value == "alice@example.com"
    assert not events_of(alice_login.customer)

    # the code belongs to this login only: another customer's session cannot use it
    from loxodon.portal.auth import create_portal_login

    other = Customer.objects.create(name="Eve")
    eve = create_portal_login(customer=other, email="eve@example.net")
    stolen = sign_in_as(eve).post("/portal/account/confirm-email", {"code": token})
    assert stolen.status_code == 400
    assert MagicLink.objects.get(purpose="confirm_email").used_at is None

    page = client.get("/portal/account/confirm-email")
    assert page.status_code == 200 and b"portal/sign_in_code.js" in page.content
    done = client.post("/portal/account/confirm-email", {"code": token})
    assert done.status_code == 302 and token not in done["Location"]

    login = PortalLogin.objects.get(pk=alice_login.pk)
    assert login.identity.value == "new.alice@example.org" and login.identity.verified
    old = Identity.objects.get(customer=alice_login.customer, value="alice@example.com")
    assert not old.verified  # kept for history and matching, no longer a sign-in
    [event] = events_of(alice_login.customer)
    assert "Email address changed by you in the portal" in event.summary
    assert "alice@example.com → new.alice@example.org" in event.summary
    # used once
    assert client.post("/portal/account/confirm-email", {"code": token}).status_code == 400

    # the new address signs in; the old one no longer gets a link
    before = len(smtp.messages())
    Client().post("/portal/sign-in/", {"method": "link", "link-email": "alice@example.com"})
    assert len(smtp.messages()) == before
    Client().post("/portal/sign-in/", {"method": "link", "link-email": "new.alice@example.org"})
    assert len(smtp.to("new.alice@example.org")) == 2

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert token not in logged


def test_email_verified_for_another_customer_is_refused(
    smtp: Mailbox, alice_login: PortalLogin, bob: Customer
) -> None:
    client = sign_in_as(alice_login)
    response = client.post("/portal/account/email", {"email-email": "bob@example.com"})
    assert response.status_code == 400
    assert b"belongs to another customer record" in response.content
    assert not smtp.messages()
    assert not MagicLink.objects.filter(purpose="confirm_email").exists()
    invalid = client.post("/portal/account/email", {"email-email": "not-an-address"})
    assert invalid.status_code == 400 and b"name@example.com" in invalid.content


def test_set_and_change_password(alice_login: PortalLogin) -> None:
    client = sign_in_as(alice_login)
    weak = client.post("/portal/account/password", {"password-new_password": "12345678"})
    assert weak.status_code == 400 and b"too common" in weak.content
    ok = client.post("/portal/account/password", {"password-new_password": "lilac meadow 42"})
    assert ok.status_code == 302
    no_current = client.post(
        "/portal/account/password", {"password-new_password": "another long one"}
    )
    assert no_current.status_code == 400 and b"current password is not right" in no_current.content
    changed = client.post(
        "/portal/account/password",
        {
            "password-current_password": "lilac meadow 42",
            "password-new_password": "another long one",
        },
    )
    assert changed.status_code == 302
    signed = Client().post(
        "/portal/sign-in/",
        {"method": "password", "pw-email": "alice@example.com", "pw-password": "another long one"},
    )
    assert signed.status_code == 302
