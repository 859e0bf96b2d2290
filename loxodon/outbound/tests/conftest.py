"""A real SMTP server (aiosmtpd) in the test process, and a case with an owner and departments."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from loxodon.core.testing import Api, smtp_server
from loxodon.org.models import Department, User
from loxodon.org.services import create_api_token, create_staff


class Mailbox:
    """Collects every message the server accepts; `refuse` makes it answer with an error."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: list[str] = []  # responses for the next DATA commands, e.g. "451 busy"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)
            for e in self.envelopes
        ]


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    with smtp_server(mailbox, settings):
        settings.LOXODON_SUPPORT_EMAIL = "support@loxodon.test"
        settings.LOXODON_DIGEST_WINDOW_SECONDS = 7200
        yield mailbox


@pytest.fixture
def parts_staff(departments: dict[str, Department]) -> User:
    return create_staff(
        username="pat",
        first_name="Pat",
        last_name="Parts",
        role="agent",
        department=departments["parts"],
    )


@pytest.fixture
def carl_api(colleague: User) -> Api:
    """Carl works in hardware support: a department colleague, not the case owner."""
    return Api(create_api_token(username=colleague.username))


@pytest.fixture
def pat_api(parts_staff: User) -> Api:
    return Api(create_api_token(username=parts_staff.username))


@pytest.fixture
def case(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    """A case owned by Ann, with tasks for hardware support and parts."""
    response = api.post(
        "/cases",
        {
            "customer_id": customer["id"],
            "problem": "Laptop will not charge\nsince the update",
            "owner": "ann",
        },
    )
    assert response.status_code == 201, response.content
    body = dict(response.json())
    for dept in ("support-hardware", "parts"):
        r = api.post(f"/cases/{body['id']}/tasks", {"department": dept, "title": f"{dept} work"})
        assert r.status_code == 201, r.content
    return body
