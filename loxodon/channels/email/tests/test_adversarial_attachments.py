"""Hostile attachments by real SMTP (issue 10, item 11): a PNG that turns into HTML, an SVG and an
HTML page with script, a zip bomb and an over-limit file in one message; a 50 MB message.

The message is always kept (text on the timeline, every file either stored byte for byte or
noted as skipped, the raw message in the spool); nothing is ever unpacked; every download is an
attachment of type application/octet-stream with nosniff and a sandboxing CSP."""

from __future__ import annotations

import base64
import resource
import smtplib
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from loxodon.cases.models import Case
from loxodon.channels.email.mail_spool import MAX_MESSAGE_BYTES, SpoolHandler, spool_dir
from loxodon.channels.email.models import InboundStatus, MailAttachment
from loxodon.channels.email.services import locate_raw, process_spooled_mail
from loxodon.channels.email.tests.attachment_fixtures import (
    HTML_PAGE,
    PNG_THEN_HTML,
    SVG_WITH_SCRIPT,
    assert_download_only,
    zip_bomb,
)
from loxodon.channels.email.tests.conftest import JO, SUPPORT
from loxodon.core.testing import free_port
from loxodon.timeline.models import Event

MiB = 1 << 20


@pytest.fixture
def smtp_port(mail_settings: Any) -> Iterator[int]:
    """Our SMTP listener as `loxodon smtpd --spool-only` builds it (same handler and size limit)."""
    port = free_port()
    controller = Controller(
        SpoolHandler([SUPPORT.rpartition("@")[2]]),
        hostname="127.0.0.1",
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        ident="Loxodon",
    )
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def no_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire: any attempt to open an archive fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an archive was opened")

    monkeypatch.setattr(zipfile, "ZipFile", refuse)
    monkeypatch.setattr(zipfile, "is_zipfile", refuse)
    monkeypatch.setattr(tarfile, "open", refuse)


def hostile_mail(files: dict[str, tuple[bytes, str]]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Jo Bloggs <{JO}>"
    message["To"] = SUPPORT
    message["Subject"] = "Photos of the broken hinge"
    message["Message-ID"] = "<hostile-attachments@example.com>"
    message.set_content("Here are the photos and my backup.")
    for name, (data, content_type) in files.items():
        main, sub = content_type.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message


def test_hostile_files_are_kept_as_bytes_and_only_ever_downloaded(
    jo_case: Case,
    smtp_port: int,
    agent_desk: Client,
    supervisor_desk: Client,
    no_unpacking: None,
) -> None:
    big = b"\x00" * (12 * MiB)  # over the 10 MB a file may have
    files = {
        "hinge.png": (PNG_THEN_HTML, "image/png"),
        "drawing.svg": (SVG_WITH_SCRIPT, "image/svg+xml"),
        "invoice.html": (HTML_PAGE, "text/html"),
        "backup.zip": (zip_bomb(), "application/zip"),
        "disk.img": (big, "application/octet-stream"),
    }
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        refused = client.send_message(hostile_mail(files))
    assert refused == {}

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    (inbound,) = process_spooled_mail()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 512, f"processing grew the process by {grown_mib:.0f} MiB"  # not 3 GiB

    # the message is kept: on the case, its words on the timeline, the raw file in the spool
    assert inbound.status == InboundStatus.PROCESSED, inbound.error
    event = Event.objects.get(pk=str(inbound.event_id))
    assert "Here are the photos" in event.body
    assert locate_raw(inbound.spool_name) is not None
    # every hostile file stored byte for byte, as sent; the one over the limit noted, not lost
    stored = {a.filename: a for a in MailAttachment.objects.filter(inbound=inbound)}
    assert set(stored) == {"hinge.png", "drawing.svg", "invoice.html", "backup.zip"}
    skipped = event.payload["skipped_attachments"]
    assert [s["filename"] for s in skipped] == ["disk.img"]
    assert "exceeds the limit" in skipped[0]["reason"]
    assert "kept in the raw message" in skipped[0]["reason"]

    # every download: an attachment, octet-stream, nosniff, sandboxed; the bytes as sent
    for name, row in stored.items():
        response = agent_desk.get(f"/desk/mail/attachments/{row.pk}/")
        assert_download_only(response, files[name][0])
        assert name in response["Content-Disposition"]
    # the raw message too (for supervisors)
    assert_download_only(supervisor_desk.get(f"/desk/mail/{inbound.pk}/raw/"))
    # the desk pages that list them link to the download, never embed the file
    for page in (f"/desk/mail/{inbound.pk}/", f"/desk/customers/{jo_case.customer_id}/"):
        html = agent_desk.get(page).content.decode()
        if "/customers/" in page:  # the skipped file is named on the timeline
            assert "disk.img" in html and "kept in the raw message" in html
        for row in stored.values():
            assert f"/desk/mail/attachments/{row.pk}/" in html
            assert f'src="/desk/mail/attachments/{row.pk}/' not in html


def test_a_50_mb_message_is_refused_at_the_door_and_nothing_half_stored(
    jo_case: Case, smtp_port: int
) -> None:
    """Over the 35 MB a message may have, SMTP answers 552 (the sender's server bounces it, so
    the sender knows); whether the client declares the size up front or not."""
    encoded = base64.b64encode(b"\x00" * (50 * MiB))
    lines = b"\r\n".join(encoded[i : i + 996] for i in range(0, len(encoded), 996))
    raw = (
        (
            f"From: Jo Bloggs <{JO}>\r\nTo: {SUPPORT}\r\nSubject: My video\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nThe video of the fault.\r\n--b\r\n"
            'Content-Type: video/mp4\r\nContent-Disposition: attachment; filename="v.mp4"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + lines
        + b"\r\n--b--\r\n"
    )
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
        client.ehlo()
        assert client.has_extn("size")
        # declared: refused before a byte of the message is sent
        code, reply = client.mail(JO, [f"SIZE={len(raw)}"])
        assert code == 552, reply
        client.rset()
        # not declared: the listener reads the data, discards it, then refuses it
        assert client.mail(JO)[0] == 250
        assert client.rcpt(SUPPORT)[0] == 250
        code, reply = client.data(raw)
        assert code == 552, reply
    assert not list(Path(spool_dir()).glob("*/*.eml")), "a refused message was spooled"
    assert process_spooled_mail() == []
    assert not MailAttachment.objects.exists()
