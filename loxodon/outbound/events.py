"""The timeline events the outbound app writes: a message sent, or one that could not be."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loxodon.core.event_types import Channel
from loxodon.outbound.models import OutboundMessage
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event


def message_sent(
    message: OutboundMessage,
    *,
    text: str,
    folded: Sequence[OutboundMessage],
    sent_at: datetime,
) -> Event:
    """Exactly what the customer received, on their timeline and the case."""
    case = message.case
    departments = sorted({u.department.code for u in folded if u.department is not None})
    return record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="message",
        channel=Channel.EMAIL,
        actor=message.author,
        site=case.site,
        summary=f"Email to the customer: {message.subject}",
        body=text,
        occurred_at=sent_at,
        payload={
            "case_id": str(case.pk),
            "direction": "outbound",
            "message_id": message.message_id,
            "to": message.to_address,
            "subject": message.subject,
            "outbound_message_id": str(message.pk),
            "message_kind": message.kind,
            "consolidated_update_ids": [str(u.pk) for u in folded],
            "departments": departments,
        },
    )


def message_failed(message: OutboundMessage) -> Event:
    """Tell the owner (on the case's stream, staff only) that a message did not go out."""
    case = message.case
    return record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="message_not_sent",
        actor=None,
        site=case.site,
        summary=f"Message to the customer not sent: {message.error}"[:300],
        body=message.body,
        payload={
            "case_id": str(case.pk),
            "outbound_message_id": str(message.pk),
            "message_kind": message.kind,
            "error": message.error,
        },
    )
