from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema

from loxodon.channels.email.models import InboundMail


class InboundOut(Schema):
    id: str
    status: str
    received_at: datetime
    processed_at: datetime | None
    error: str
    size: int
    envelope_from: str
    from_address: str
    subject: str
    message_id: str
    attempts: int
    flags: dict[str, Any]
    event_id: str | None
    customer_id: str | None
    raw_url: str


class InboundPageOut(Schema):
    items: list[InboundOut]
    next_cursor: str | None


def inbound_out(m: InboundMail) -> dict[str, Any]:
    return {
        "id": str(m.pk),
        "status": m.status,
        "received_at": m.received_at,
        "processed_at": m.processed_at,
        "error": m.error,
        "size": m.size,
        "envelope_from": m.envelope_from,
        "from_address": m.from_address,
        "subject": m.subject,
        "message_id": m.message_id,
        "attempts": m.attempts,
        "flags": m.flags if isinstance(m.flags, dict) else {},
        "event_id": str(m.event_id) if m.event_id else None,
        "customer_id": str(m.customer_id) if m.customer_id else None,
        "raw_url": f"/desk/mail/{m.pk}/raw/",
    }
