"""Fixtures for the sign-in and account tests: a real SMTP server, customers with logins."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.core.cache import caches
from django.test import Client

from loxodon.core.testing import smtp_server
from loxodon.customers.models import Customer
from loxodon.customers.services import create_customer
from loxodon.portal.auth import create_portal_login, wait_for_mail
from loxodon.portal.models import PortalLogin

TOKEN_IN_URL = re.compile(r"#([A-Za-z0-9_\-]{20,})")


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.delay = 0.0  # seconds the server takes to accept a message (a slow provider)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        # a method, not a property: aiosmtpd inspects its handler's attributes from its thread
        wait_for_mail()  # portal mail is sent from a background thread
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)
            for e in self.envelopes
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if address in str(m["To"])]

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def token_for(self, address: str) -> str:
        """The token of the newest link mailed to `address` (from the URL fragment)."""
        found = TOKEN_IN_URL.search(self.body(self.to(address)[-1]))
        assert found, "no link in the mail"
        return found.group(1)


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    with smtp_server(mailbox, settings):
        settings.LOXODON_PUBLIC_URL = "https://help.example.test"
        yield mailbox


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


@pytest.fixture
def alice(db: None) -> Customer:
    return create_customer(
        name="Alice Able",
        email="alice@example.com",
        phone="+44 20 7946 0001",
        verified=True,
        street="1 High Street",
        city="London",
        postcode="sw1a 1aa",
    )


@pytest.fixture
def alice_login(alice: Customer) -> PortalLogin:
    return create_portal_login(customer=alice, email="alice@example.com")


@pytest.fixture
def bob(db: None) -> Customer:
    return create_customer(name="Bob Other", email="bob@example.com", verified=True)


def sign_in_as(login: PortalLogin) -> Client:
    """A browser signed in to the portal as `login` (through a real link, like a customer)."""
    from loxodon.portal.auth import IssuedLink, issue_link

    client = Client()
    issued: IssuedLink = issue_link(purpose="sign_in", email=login.email, login=login)
    response = client.post("/portal/sign-in/link", {"code": issued.token})
    assert response.status_code == 302, response.content[:500]
    return client
