"""Inbound mail under redelivery and crashes (issue 10, items 14 and 17), with the real
processes: `loxodon smtpd` and `loxodon process_mail` as subprocesses, smtplib as the sending
server. The rule that holds it together: spool before parse, acknowledge (250) only after the
spool file is durable, file the raw message away only after its event is committed, and
recognise every repeat (same bytes, or same Message-ID and content) as one message.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loxodon.channels.email.models import InboundMail
from loxodon.core.testing import database_url, free_port, wait_for
from loxodon.timeline.models import Event

pytestmark = pytest.mark.slow

SUPPORT = "support@loxodon.test"


def message(n: int, *, relay: str = "") -> bytes:
    """A customer's mail; `relay` adds the Received line another relay would prepend."""
    received = (
        f"Received: from {relay} by mx.example.net; Thu, 19 Nov 2026 10:00:0{n % 10} +0000\r\n"
    )
    return (
        (received if relay else "") + f"From: Sender {n} <sender{n}@example.com>\r\n"
        f"To: {SUPPORT}\r\n"
        "Date: Thu, 19 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <faults-{n}@example.com>\r\n"
        f"Subject: Fault test {n}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"My appliance number {n} stopped working.\r\n"
    ).encode()


class MailHost:
    """The mail processes of one installation, sharing this test's database and spool."""

    def __init__(self, tmp_path: Path) -> None:
        self.spool = tmp_path / "spool"
        self.tmp_path = tmp_path
        self.port = free_port()
        self.smtpd: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0

    def env(self, point: str | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "loxodon.settings",
            "LOXODON_VAR_DIR": str(self.tmp_path / "var"),
            "LOXODON_MAIL_SPOOL": str(self.spool),
            "LOXODON_SUPPORT_EMAIL": SUPPORT,
        }
        env.pop("LOXODON_FAULT_POINT", None)
        if point:
            env["LOXODON_FAULT_POINT"] = point
            env["LOXODON_FAULT_ONCE"] = str(self.tmp_path / f"{point}.fired")
        return env

    @staticmethod
    def loxodon() -> str:
        return shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")

    def start_smtpd(self, *args: str, point: str | None = None) -> None:
        self.smtpd = subprocess.Popen(
            [self.loxodon(), "smtpd", "--host", "127.0.0.1", "--port", str(self.port), *args],
            env=self.env(point),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.starts += 1
        proc = self.smtpd

        def listening() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"smtpd exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_for(listening, "smtpd to listen")

    def smtpd_died(self) -> None:
        assert self.smtpd is not None
        assert self.smtpd.wait(timeout=10) == -signal.SIGKILL
        self.kills += 1

    def stop_smtpd(self) -> None:
        if self.smtpd is not None and self.smtpd.poll() is None:
            self.smtpd.send_signal(signal.SIGTERM)
            self.smtpd.wait(timeout=30)

    def process_mail(self, point: str | None = None) -> int:
        done = subprocess.run(
            [self.loxodon(), "process_mail"],
            env=self.env(point),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode == -signal.SIGKILL:
            self.kills += 1
        return done.returncode

    def age_claims(self) -> int:
        """Time passes: claims a dead worker left in work/ become stale (older than the ten
        minutes after which any worker takes them back) without the test waiting for it."""
        old = time.time() - 3600
        claimed = list((self.spool / "work").glob("*")) if (self.spool / "work").is_dir() else []
        for path in claimed:
            os.utime(path, (old, old))
        return len(claimed)

    def folder(self, name: str) -> list[Path]:
        path = self.spool / name
        return sorted(path.iterdir()) if path.is_dir() else []


@pytest.fixture
def host(transactional_db: None, tmp_path: Path) -> Iterator[MailHost]:
    mail_host = MailHost(tmp_path)
    yield mail_host
    mail_host.stop_smtpd()


def _send(port: int, raw: bytes, sender: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        assert client.sendmail(sender, [SUPPORT], raw) == {}


def _email_events() -> dict[str, int]:
    counts: dict[str, int] = {}
    for summary in Event.objects.filter(source="email").values_list("summary", flat=True):
        counts[summary] = counts.get(summary, 0) + 1
    return counts


def test_the_same_mail_five_times_at_once_through_smtpd_is_one_event(host: MailHost) -> None:
    host.start_smtpd("--interval", "0.5")
    # Three messages, five copies each, sent at the same moment over separate connections;
    # two copies of each carry a relay's extra Received line (other bytes, same Message-ID).
    copies = [
        (n, message(n, relay=f"relay{c}.example.net" if c >= 3 else ""))
        for n in range(3)
        for c in range(5)
    ]
    problems: list[str] = []
    barrier = threading.Barrier(len(copies))

    def deliver(n: int, raw: bytes) -> None:
        try:
            barrier.wait(timeout=30)
            _send(host.port, raw, f"sender{n}@example.com")
        except Exception as exc:  # collected, asserted below
            problems.append(repr(exc))

    threads = [threading.Thread(target=deliver, args=copy) for copy in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not problems, problems[:3]
    wait_for(
        lambda: (
            len(host.folder("cur")) + len(host.folder("failed")) >= 3
            and not host.folder("new")
            and not host.folder("work")
        ),
        "the spool to be drained",
    )
    time.sleep(0.5)  # a last sweep would show any straggler
    assert _email_events() == {f"Email: Fault test {n}": 1 for n in range(3)}
    assert not host.folder("failed")
    rows = InboundMail.objects.all()
    assert sum(1 for r in rows if r.status == "processed") == 3
    assert all(r.status in ("processed", "duplicate") for r in rows)
    print(  # figures for docs/reliability.md
        f"\nSMTP redelivery: {len(copies)} deliveries (3 messages x 5, at once, 2 of each "
        f"through another relay) -> {sum(_email_events().values())} events"
    )


def test_mail_processes_killed_at_every_step_lose_and_duplicate_nothing(host: MailHost) -> None:
    # 1. The listener dies after DATA before spooling, then after spooling before the 250.
    #    The sending server got no 250 either time and sends again, as SMTP servers do.
    host.start_smtpd("--spool-only", point="smtp.received")
    resent = 0
    for point in ("smtp.spooled", None):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            _send(host.port, message(0), "sender0@example.com")
        host.smtpd_died()
        resent += 1
        host.start_smtpd("--spool-only", point=point)
    _send(host.port, message(0), "sender0@example.com")  # the third try gets its 250
    for n in range(1, 5):
        _send(host.port, message(n), f"sender{n}@example.com")
    host.stop_smtpd()
    spooled = host.folder("new")
    assert len(spooled) == 6  # message 0 twice (the copy spooled before the lost 250)

    # 2. The worker dies after parsing a message, before its commit, and after the commit
    #    before the raw file is filed away; each time it is simply started again.
    for point in ("mail.parsed", "mail.before_commit", "mail.committed"):
        assert host.process_mail(point) == -signal.SIGKILL, point
        held = host.age_claims()
        assert held == 1, (point, held, {f: host.folder(f) for f in ("new", "work", "cur")})
    assert host.process_mail() == 0

    # Nothing lost, nothing twice: one event and one processed row per message, every raw
    # message filed in cur/ once, nothing left waiting or claimed.
    assert _email_events() == {f"Email: Fault test {n}": 1 for n in range(5)}
    assert InboundMail.objects.filter(status="processed").count() == 5
    assert not host.folder("new") and not host.folder("work") and not host.folder("failed")
    assert len(host.folder("cur")) == 5
    assert host.kills == 5
    assert all((host.tmp_path / f"{p}.fired").exists() for p in ("smtp.received", "mail.parsed"))
    print(  # figures for docs/reliability.md
        f"\nmail kill -9: 5 messages, {host.kills} kills (smtp.received, smtp.spooled, "
        f"mail.parsed, mail.before_commit, mail.committed), {resent} SMTP re-sends, "
        f"{host.starts} smtpd starts; 5 events: 0 lost, 0 duplicated"
    )
