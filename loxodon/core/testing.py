"""Test helpers shared by every app's tests (imported by tests and by the root conftest)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import connection
from django.test import Client


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (for servers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(handler: Any, settings: Any) -> Iterator[None]:
    """A real SMTP server on loopback (aiosmtpd) with `handler`; Django sends its mail there."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    try:
        yield
    finally:
        controller.stop()


class Outbox:
    """A real SMTP server: every message Loxodon sends out lands here."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def recipients(self) -> list[str]:
        return [r.lower() for e in self.envelopes for r in e.rcpt_tos]

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)
            for e in self.envelopes
        ]

    def raw(self) -> bytes:
        return b"\n".join(e.original_content or b"" for e in self.envelopes)


def wait_for(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """Poll `check` until it returns something truthy (and return that), or fail the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


class Api:
    """A JSON client for /api/v1 that authenticates with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(headers={"Authorization": f"Bearer {token}"} if token else None)

    def _url(self, path: str) -> str:
        return "/api/v1" + path

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(self._url(path), params)

    def post(self, path: str, data: Any = None) -> Any:
        body = data if isinstance(data, str | bytes) else json.dumps(data or {})
        return self.client.post(self._url(path), body, content_type="application/json")


def database_url() -> str:
    """The URL of the database this test uses, for a `loxodon` subprocess to share it (with
    `transactional_db`, so that what the test writes is committed and visible)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user, password = quote(s.get("USER") or "", safe=""), quote(s.get("PASSWORD") or "", safe="")
    auth = f"{user}{':' + password if password else ''}@" if user else ""
    return f"postgres://{auth}{s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}/{s['NAME']}"


def signed_in(user: Any) -> Client:
    """A browser session signed in as this member of staff (desk pages)."""
    client = Client()
    client.force_login(user)
    return client


def event(external_id: str, **fields: Any) -> dict[str, Any]:
    """A valid event body; override any field."""
    body: dict[str, Any] = {
        "source": "test",
        "external_id": external_id,
        "channel": "email",
        "kind": "message",
        "occurred_at": "2026-11-20T10:00:00+00:00",
        "summary": f"Message {external_id}",
    }
    body.update(fields)
    return body
