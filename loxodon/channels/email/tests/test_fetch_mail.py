"""`loxodon fetch_mail` against a real IMAP server (pymap's in-memory backend, its own process)."""

from __future__ import annotations

import imaplib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from loxodon.channels.email.models import InboundMail
from loxodon.core.testing import free_port
from loxodon.timeline.models import Event

DEMO_USER = ("--demo-user", "support", "--demo-password", "imap-secret")


def _message(n: int) -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.com>\r\n"
        f"To: support@loxodon.test\r\n"
        f"Date: Thu, 19 Nov 2026 10:0{n}:00 +0000\r\n"
        f"Message-ID: <imap-{n}@example.com>\r\n"
        f"Subject: Question number {n}\r\n\r\n"
        f"This is question {n}.\r\n"
    ).encode()


@pytest.fixture
def imap_server(mail_settings: Any) -> Iterator[int]:
    port = free_port()
    pymap = shutil.which("pymap") or str(Path(sys.executable).parent / "pymap")
    proc = subprocess.Popen(
        [pymap, "--host", "127.0.0.1", "--port", str(port), "dict", *DEMO_USER],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("pymap did not start")
            time.sleep(0.1)
    mail_settings.LOXODON_IMAP_HOST = "127.0.0.1"
    mail_settings.LOXODON_IMAP_PORT = port
    mail_settings.LOXODON_IMAP_USER = "support"
    mail_settings.LOXODON_IMAP_PASSWORD = "imap-secret"
    mail_settings.LOXODON_IMAP_SSL = False
    mail_settings.LOXODON_IMAP_FOLDER = "INBOX"
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def _mailbox(port: int) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("support", "imap-secret")
    client.select("INBOX")
    return client


def _unseen(port: int) -> list[bytes]:
    client = _mailbox(port)
    try:
        _, data = client.uid("SEARCH", "UNSEEN")
        return list(data[0].split()) if data and data[0] else []
    finally:
        client.logout()


def test_fetch_mail_spools_processes_and_marks_seen(db: None, imap_server: int) -> None:
    client = _mailbox(imap_server)
    for n in (1, 2):
        client.append("INBOX", "", "", _message(n))
    client.logout()
    assert len(_unseen(imap_server)) == 2

    call_command("fetch_mail", "--once")

    assert _unseen(imap_server) == []
    subjects = sorted(Event.objects.filter(source="email").values_list("summary", flat=True))
    assert subjects == ["Email: Question number 1", "Email: Question number 2"]
    call_command("fetch_mail", "--once")  # nothing new: nothing happens
    assert Event.objects.filter(source="email").count() == 2


def test_the_same_message_fetched_three_times_is_one_event(db: None, imap_server: int) -> None:
    client = _mailbox(imap_server)
    for _ in range(3):  # e.g. a forwarding rule that delivered it three times
        client.append("INBOX", "", "", _message(7))
    client.logout()

    call_command("fetch_mail", "--once")

    assert Event.objects.filter(source="email").count() == 1
    assert InboundMail.objects.count() == 1
    assert _unseen(imap_server) == []


def test_messages_stay_unseen_when_they_cannot_be_spooled(
    db: None, imap_server: int, mail_settings: Any, tmp_path: Path
) -> None:
    client = _mailbox(imap_server)
    client.append("INBOX", "", "", _message(3))
    client.logout()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    mail_settings.LOXODON_MAIL_SPOOL = str(blocker / "spool")

    with pytest.raises(OSError):
        call_command("fetch_mail", "--once")

    assert len(_unseen(imap_server)) == 1  # still waiting in the mailbox: nothing lost
    assert not Event.objects.filter(source="email").exists()


def test_fetch_mail_without_settings_is_a_clear_error(db: None, mail_settings: Any) -> None:
    from django.core.management.base import CommandError

    mail_settings.LOXODON_IMAP_HOST = ""
    with pytest.raises(CommandError, match="LOXODON_IMAP_HOST"):
        call_command("fetch_mail", "--once")
