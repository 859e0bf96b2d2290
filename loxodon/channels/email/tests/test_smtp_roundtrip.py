"""A real SMTP round trip: `loxodon smtpd` as its own process, mail sent with smtplib, and the
message read back from the customer's timeline through the API. Replays give one event."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from loxodon.channels.email.mail_spool import spool_message
from loxodon.channels.email.models import InboundMail
from loxodon.core.testing import Api, database_url, free_port, wait_for
from loxodon.timeline.models import Event

MESSAGE = (
    b"From: Nadia Haddad <nadia@example.com>\r\n"
    b"To: support@loxodon.test\r\n"
    b"Date: Thu, 19 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <roundtrip-1@example.com>\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9_machine_leaks?=\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"The caf\xc3\xa9 machine I bought leaks water.\r\n"
)


@pytest.fixture
def smtpd_process(transactional_db: None, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`loxodon smtpd` writing to this test's database, spool and media folders."""
    port = free_port()
    spool = tmp_path / "spool"
    loxodon = shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "LOXODON_VAR_DIR": str(tmp_path / "var"),
        "LOXODON_MAIL_SPOOL": str(spool),
        "LOXODON_SUPPORT_EMAIL": "support@loxodon.test",
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
    }
    proc = subprocess.Popen(
        [loxodon, "smtpd", "--host", "127.0.0.1", "--port", str(port)],
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

    wait_for(listening, "smtpd to listen")
    yield port, spool
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_mail_sent_to_smtpd_reaches_the_timeline_once(
    smtpd_process: tuple[int, Path], api: Api
) -> None:
    port, spool = smtpd_process
    created = api.post("/customers", {"name": "Nadia Haddad", "email": "nadia@example.com"})
    customer_id = created.json()["id"]

    for _ in range(3):  # the sender's server retries: three deliveries of one message
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            assert client.sendmail("nadia@example.com", ["support@loxodon.test"], MESSAGE) == {}

    def email_events() -> list[dict[str, Any]]:
        items = api.get(f"/customers/{customer_id}/timeline", channel="email").json()["items"]
        return [e for e in items if e["kind"] == "message"]

    (event,) = wait_for(email_events, "the email on the timeline")
    assert event["summary"] == "Email: Café machine leaks"
    assert "café machine I bought leaks" in event["body"]
    wait_for(
        lambda: not any((spool / "new").glob("*")) and not any((spool / "work").glob("*")),
        "the spool to be drained",
    )
    assert len(email_events()) == 1
    assert Event.objects.filter(source="email").count() == 1
    assert len(list((spool / "cur").iterdir())) == 1  # identical copies are not kept twice


def test_process_mail_replayed_three_times_gives_one_event(db: None, mail_settings: Any) -> None:
    for _ in range(3):
        spool_message(MESSAGE, mail_from="nadia@example.com", rcpt_tos=["support@loxodon.test"])
        call_command("process_mail")
    assert Event.objects.filter(source="email").count() == 1
    assert InboundMail.objects.count() == 1
    spool = Path(mail_settings.LOXODON_MAIL_SPOOL)
    assert len(list((spool / "cur").iterdir())) == 1
    assert not list((spool / "new").iterdir())


def test_process_mail_retry_failed(db: None, mail_settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    mail_settings.MEDIA_ROOT = str(blocker / "media")  # attachments cannot be stored
    raw = (Path(__file__).parent / "corpus" / "16_nested_multipart.eml").read_bytes()
    spool_message(raw, mail_from="olu@example.ng", rcpt_tos=["support@loxodon.test"])
    call_command("process_mail")
    (inbound,) = InboundMail.objects.all()
    assert inbound.status == "failed" and inbound.event_id is None

    mail_settings.MEDIA_ROOT = str(tmp_path / "media")  # the disk is fixed
    call_command("process_mail", "--retry-failed")
    inbound.refresh_from_db()
    assert inbound.status == "processed"
    assert Event.objects.filter(source="email").count() == 1
