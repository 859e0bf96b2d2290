"""API shapes of the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from loxodon.core.schemas import StrictIn
from loxodon.outbound.models import OutboundMessage

WritableKind = Literal["reply", "question", "resolution_check", "update"]


class MessageIn(StrictIn):
    body: str = Field(min_length=1, max_length=20_000)
    kind: WritableKind | None = Field(
        default=None,
        description="default: `reply` for the case owner, `update` for everyone else",
    )


class QuestionIn(StrictIn):
    question: str = Field(min_length=1, max_length=20_000)


class AnswerIn(StrictIn):
    event_id: uuid.UUID | None = None


class MessageOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    status: str
    body: str
    author: str
    author_name: str
    department: str | None
    send_after: datetime
    attempts: int
    sent_at: datetime | None
    subject: str
    message_id: str
    to_address: str
    error: str
    digest_id: uuid.UUID | None
    event_id: uuid.UUID | None
    answered_at: datetime | None
    is_open_question: bool
    created_at: datetime


def message_out(m: OutboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "case_id": m.case_id,
        "customer_id": m.customer_id,
        "kind": m.kind,
        "status": m.status,
        "body": m.body,
        "author": m.author.username,
        "author_name": m.author.display_name,
        "department": m.department.code if m.department else None,
        "send_after": m.send_after,
        "attempts": m.attempts,
        "sent_at": m.sent_at,
        "subject": m.subject,
        "message_id": m.message_id,
        "to_address": m.to_address,
        "error": m.error,
        "digest_id": m.digest_id,
        "event_id": m.event_id,
        "answered_at": m.answered_at,
        "is_open_question": m.is_open_ask,
        "created_at": m.created_at,
    }
