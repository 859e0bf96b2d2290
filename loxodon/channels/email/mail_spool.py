"""Inbound mail, step one: never lose a message.

The SMTP listener writes every accepted message, byte for byte, to a spool directory and only
then answers 250. Writing goes to `tmp/` first, is fsynced, and is renamed into `new/` (the
Maildir discipline), so a crash at any point leaves either no file (the sender retries) or a
complete one. Parsing, threading and the timeline event are done from the spool by the email
adapter, so a message that cannot be parsed is still kept as raw `.eml`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings

from loxodon.core.faults import fault_point

MAX_MESSAGE_BYTES = 35 * 1024 * 1024


def spool_dir() -> Path:
    return Path(settings.LOXODON_MAIL_SPOOL)


def spool_message(raw: bytes, *, mail_from: str, rcpt_tos: list[str]) -> Path:
    """Store one raw message durably; returns its path under `new/`."""
    root = spool_dir()
    tmp, new = root / "tmp", root / "new"
    tmp.mkdir(parents=True, exist_ok=True)
    new.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    name = f"{uuid.uuid4().hex}-{digest}.eml"
    envelope = f"X-Loxodon-Envelope-From: {mail_from}\r\n" + "".join(
        f"X-Loxodon-Envelope-To: {rcpt}\r\n" for rcpt in rcpt_tos
    )
    path = tmp / name
    with open(path, "wb") as fh:
        fh.write(envelope.encode("utf-8", "replace") + raw)
        fh.flush()
        os.fsync(fh.fileno())
    final = new / name
    os.replace(path, final)
    dir_fd = os.open(new, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return final


class SpoolHandler:
    """aiosmtpd handler: accept mail for our domain, spool it, then acknowledge."""

    def __init__(
        self, accept_domains: list[str], on_spooled: Callable[[Path], None] | None = None
    ) -> None:
        self.accept_domains = [d.lower() for d in accept_domains]
        self.on_spooled = on_spooled  # e.g. wake the worker that puts mail on the timeline

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.accept_domains and domain not in self.accept_domains:
            return "550 5.1.1 not a support address of this system"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > MAX_MESSAGE_BYTES:
            return "552 5.3.4 message too big"
        fault_point("smtp.received")  # a crash here: no file, no 250, the sender retries
        path = spool_message(
            raw, mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos)
        )
        fault_point("smtp.spooled")  # a crash here: a file and no 250; the retry is a duplicate
        if self.on_spooled is not None:
            self.on_spooled(path)
        return "250 Message accepted for delivery"
