"""Fixtures for the adversarial mail tests: the real `loxodon smtpd` listener as its own process,
a real SMTP server that captures everything we send, and a customer signed in to the portal."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loxodon.channels.email.models import InboundMail, InboundStatus
from loxodon.core.testing import Outbox, database_url, free_port, smtp_server, wait_for
from loxodon.customers.models import Customer
from loxodon.outbound.services import send_due_messages
from loxodon.portal.auth import create_portal_login
from loxodon.portal.tests.auth_fixtures import sign_in_as

SUPPORT = "support@loxodon.test"
# Every GET page a signed-in customer can reach (plus the case pages, added per test).
PORTAL_PAGES = (
    "/portal/",
    "/portal/timeline/",
    "/portal/cases/",
    "/portal/conversations/",
    "/portal/orders/",
    "/portal/products/",
    "/portal/chat/",
    "/portal/account/",
    "/portal/my-data/",
    "/portal/feedback/",
    "/portal/help/",
)


@pytest.fixture
def outbox(settings: Any) -> Iterator[Outbox]:
    box = Outbox()
    with smtp_server(box, settings):
        yield box


def flush_outbound() -> None:
    """Send whatever is due now (what the outbound worker would do) to the outbox."""
    send_due_messages()


@dataclass
class Listener:
    port: int
    spool: Path

    def send(self, raw: bytes, *, mail_from: str, rcpt: list[str]) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            assert client.sendmail(mail_from, rcpt, raw) == {}

    def handled(self, message_id: str) -> InboundMail:
        """The row of a message once the listener's worker has finished with it."""

        def done() -> InboundMail | None:
            row = InboundMail.objects.filter(message_id=message_id).first()
            return row if row is not None and row.status != InboundStatus.RECEIVED else None

        return wait_for(done, f"the listener to handle {message_id}")

    def drained(self) -> bool:
        return not any((self.spool / "new").glob("*")) and not any((self.spool / "work").glob("*"))


@pytest.fixture
def listener(
    transactional_db: None, mail_settings: Any, outbox: Outbox, tmp_path: Path
) -> Iterator[Listener]:
    """`loxodon smtpd` on a free port, sharing this test's database, spool and outbound SMTP."""
    port = free_port()
    spool = Path(mail_settings.LOXODON_MAIL_SPOOL)
    loxodon = shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "LOXODON_VAR_DIR": str(tmp_path / "var"),
        "LOXODON_MAIL_SPOOL": str(spool),
        "LOXODON_SUPPORT_EMAIL": SUPPORT,
        "LOXODON_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mail_settings.EMAIL_PORT),
        "LOXODON_MAIL_SENDER_RATE": str(mail_settings.LOXODON_MAIL_SENDER_RATE),
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
    }
    env.pop("LOXODON_FAULT_POINT", None)
    proc = subprocess.Popen(
        [loxodon, "smtpd", "--host", "127.0.0.1", "--port", str(port), "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def listening() -> bool:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else b""
            pytest.fail(f"smtpd exited: {out!r}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for(listening, "smtpd to listen", 30)
    try:
        yield Listener(port, spool)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def portal_client(customer: Customer, address: str) -> Client:
    """The customer signed in to the portal through a real sign-in link."""
    return sign_in_as(create_portal_login(customer=customer, email=address))


def portal_text(client: Client, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Every portal page this customer can open, as text (each must answer 200)."""
    pages: dict[str, str] = {}
    for url in (*PORTAL_PAGES, *extra):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        pages[url] = response.content.decode()
    return pages


def mail(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    extra: str = "",
) -> bytes:
    """A plain-text message; `extra` holds further header lines (CRLF-terminated)."""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Wed, 02 Dec 2026 06:00:00 +0000\r\nMessage-ID: {message_id}\r\n"
        f"MIME-Version: 1.0\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()
