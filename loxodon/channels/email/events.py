"""The timeline event an inbound email becomes (kind `message`, channel `email`).

The body is the whole text as the customer sent it (quoted replies included); the payload
carries what the desk needs to show it well without a query: sender and recipients, subject,
where the quoted part starts, attachment ids and names, and any warnings (automatic reply,
bounce, a case reference from someone who is not that case's customer).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from loxodon.channels.email.parsing import ParsedMail
from loxodon.core.event_types import Channel
from loxodon.timeline.services import MAX_PAYLOAD_BYTES, EventDraft

SOURCE = "email"
MAX_LIST = 50  # recipients listed in the payload


def external_id(mail: ParsedMail, digest: str) -> str:
    """The idempotency key: the Message-ID, or the message's SHA-256 when it has none."""
    mid = mail.message_id.strip()
    if mid and len(mid) <= 200 and " " not in mid:
        return mid
    return f"sha256:{digest}"


def _human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"


def payload_for(
    mail: ParsedMail,
    *,
    attachments: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    flags: dict[str, Any],
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "email": True,
        "direction": "inbound",
        "from": mail.from_address,
        "from_name": mail.from_name[:200],
        "to": mail.to[:MAX_LIST],
        "cc": mail.cc[:MAX_LIST],
        "subject": mail.subject[:1000],
        "message_id": mail.message_id[:500],
        "quote_start": mail.quote_start,
        "has_html": bool(mail.html),
        "attachments": attachments,
        "skipped_attachments": skipped,
        "flags": flags,
    }
    if mail.truncated:
        payload["truncated"] = True
    # Stay well inside the timeline's payload limit, whatever the sender threw at us.
    if len(json.dumps(payload, default=str)) > MAX_PAYLOAD_BYTES - 1024:
        payload["to"], payload["cc"] = payload["to"][:5], payload["cc"][:5]
        payload["attachments"] = attachments[:100]
        payload["skipped_attachments"] = skipped[:20]
        payload["subject"] = payload["subject"][:300]
    return payload


def summary_for(mail: ParsedMail, flags: dict[str, Any]) -> str:
    subject = mail.subject or "(no subject)"
    if flags.get("bounce"):
        return f"Delivery failure: {subject}"[:300]
    return f"Email: {subject}"[:300]


def message_draft(
    mail: ParsedMail,
    *,
    key: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    case_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    sender: str,
) -> EventDraft:
    return EventDraft(
        source=SOURCE,
        external_id=key,
        channel=Channel.EMAIL,
        kind="message",
        occurred_at=occurred_at,
        summary=summary_for(mail, payload["flags"]),
        body=mail.text,
        payload=payload,
        case_id=case_id,
        customer_id=customer_id,
        customer=None if customer_id else {"email": sender, "name": mail.from_name or None},
    )


def skipped_note(filename: str, size: int, why: str) -> dict[str, Any]:
    return {
        "filename": filename[:255],
        "size": size,
        "reason": f"attachment {filename} ({_human_size(size)}) {why}, kept in the raw message",
    }
