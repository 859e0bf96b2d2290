"""`loxodon smtpd` as a real process: mail sent over SMTP is spooled byte for byte before 250."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loxodon.core.testing import free_port


@pytest.fixture
def smtpd(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    spool = tmp_path / "spool"
    loxodon = shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")
    env = {
        **os.environ,
        "LOXODON_MAIL_SPOOL": str(spool),
        "LOXODON_SUPPORT_EMAIL": "support@loxodon.test",
        "LOXODON_VAR_DIR": str(tmp_path / "var"),
    }
    proc = subprocess.Popen(
        # spool only: this test looks at the spooled file itself (processing: test_smtp_roundtrip)
        [loxodon, "smtpd", "--spool-only", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"smtpd did not start: {proc.stdout.read() if proc.stdout else ''!r}")
    yield port, spool
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_accepted_mail_is_spooled_exactly(smtpd: tuple[int, Path]) -> None:
    port, spool = smtpd
    message = (
        b"From: Daniel Okafor <daniel@example.com>\r\n"
        b"To: support@loxodon.test\r\n"
        b"Subject: =?iso-8859-1?q?Mon_portable_ne_d=E9marre_pas?=\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"Il ne d\xe9marre toujours pas.\r\n"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        refused = client.sendmail("daniel@example.com", ["support@loxodon.test"], message)
    assert refused == {}
    files = list((spool / "new").glob("*.eml"))
    assert len(files) == 1
    raw = files[0].read_bytes()
    assert raw.startswith(b"X-Loxodon-Envelope-From: daniel@example.com\r\n")
    assert raw.endswith(message)
    assert not list((spool / "tmp").iterdir())


def test_mail_for_other_domains_is_refused(smtpd: tuple[int, Path]) -> None:
    port, spool = smtpd
    with (
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.sendmail("x@example.com", ["victim@elsewhere.test"], b"Subject: relay?\r\n\r\nx")
    assert not (spool / "new").exists() or not list((spool / "new").iterdir())
