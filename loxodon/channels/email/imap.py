"""Polling an IMAP mailbox (`loxodon fetch_mail`), for set-ups where mail is not delivered to
`loxodon smtpd` directly.

Each unseen message is fetched without marking it (`BODY.PEEK[]`), spooled durably exactly as
the SMTP listener does, and only then marked `\\Seen` (and moved to the processed folder when
one is configured). A crash between spooling and marking means the message is fetched again
next time; the same bytes are recognised and give no second event.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from loxodon.channels.email.mail_spool import MAX_MESSAGE_BYTES, spool_message


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    use_ssl: bool = True
    folder: str = "INBOX"
    processed_folder: str = ""


@dataclass
class FetchReport:
    spooled: int = 0
    too_big: int = 0


class MailboxError(RuntimeError):
    """The mailbox could not be read (connection, login, folder); nothing was marked."""


def _check(result: tuple[str, Any], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        raise MailboxError(f"IMAP {what} failed: {data!r}")
    return list(data or [])


def _return_path(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536])
    value = str(headers.get("Return-Path", "") or "")
    match = re.search(r"<([^<>]*)>", value)
    return match.group(1) if match else value.strip()


def _connect(box: Mailbox) -> imaplib.IMAP4:
    try:
        if box.use_ssl:
            return imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=ssl.create_default_context(), timeout=60
            )
        return imaplib.IMAP4(box.host, box.port, timeout=60)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"cannot connect to {box.host}:{box.port}: {exc}") from exc


def fetch_mailbox(box: Mailbox, *, limit: int | None = None) -> FetchReport:
    """Spool every unseen message of the mailbox folder; returns how many were spooled."""
    report = FetchReport()
    client = _connect(box)
    try:
        try:
            client.login(box.user, box.password)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP login as {box.user} failed: {exc}") from exc
        _check(client.select(_quoted(box.folder)), f"SELECT {box.folder}")
        found = _check(client.uid("SEARCH", "UNSEEN", "UNDELETED"), "SEARCH")
        first = found[0] if found and isinstance(found[0], bytes) else b""
        uids = [u.decode("ascii") for u in first.split()]
        for uid in uids[:limit] if limit else uids:
            data = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
            raw = next((p[1] for p in data if isinstance(p, tuple) and len(p) == 2), None)
            if not isinstance(raw, bytes):
                continue  # vanished meanwhile (another poller moved it)
            if len(raw) > MAX_MESSAGE_BYTES:
                report.too_big += 1  # left unseen in the mailbox for a person to look at
                continue
            spool_message(raw, mail_from=_return_path(raw), rcpt_tos=[])
            report.spooled += 1
            _check(client.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "STORE \\Seen")
            if box.processed_folder:
                _move(client, uid, box.processed_folder)
        if box.processed_folder:
            client.expunge()
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    return report


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _move(client: imaplib.IMAP4, uid: str, folder: str) -> None:
    if "MOVE" in client.capabilities:
        _check(client.uid("MOVE", uid, _quoted(folder)), f"MOVE to {folder}")
        return
    _check(client.uid("COPY", uid, _quoted(folder)), f"COPY to {folder}")
    _check(client.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
