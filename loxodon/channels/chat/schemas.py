"""API shapes of chats and their messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from loxodon.channels.chat.models import MAX_MESSAGE_CHARS, Chat, ChatMessage
from loxodon.core.schemas import StrictIn


class ChatMessageIn(StrictIn):
    body: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    client_id: str | None = Field(
        default=None,
        max_length=64,
        description="your id for this reply: sending it again returns the stored message",
    )


class ChatCaseIn(StrictIn):
    """Give `case_id` to join one of the customer's open cases, or nothing (or a `problem`)
    to open a new case owned by you."""

    case_id: uuid.UUID | None = None
    problem: str | None = Field(default=None, max_length=20_000)


class MessageOut(Schema):
    id: uuid.UUID
    seq: int
    sender: Literal["visitor", "agent", "system"]
    author: str
    body: str
    client_id: str
    created_at: datetime


class ChatOut(Schema):
    id: uuid.UUID
    status: Literal["waiting", "active", "ended"]
    web_property: str
    customer_id: uuid.UUID
    customer_name: str
    visitor_verified: bool
    agent: str | None
    case_id: uuid.UUID | None
    event_id: uuid.UUID | None
    about: str
    message_count: int
    started_at: datetime
    last_message_at: datetime
    ended_at: datetime | None


class ChatDetailOut(ChatOut):
    messages: list[MessageOut]


def message_out(m: ChatMessage) -> dict[str, Any]:
    return {
        "id": m.pk,
        "seq": m.seq,
        "sender": m.sender,
        "author": m.author_for_staff(),
        "body": m.body,
        "client_id": m.client_id,
        "created_at": m.created_at,
    }


def chat_out(chat: Chat, messages: list[ChatMessage] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": chat.pk,
        "status": chat.status,
        "web_property": chat.web_property.name,
        "customer_id": chat.customer_id,
        "customer_name": chat.customer.name,
        "visitor_verified": chat.visitor_verified,
        "agent": chat.agent.username if chat.agent else None,
        "case_id": chat.case_id,
        "event_id": chat.event_id,
        "about": chat.about,
        "message_count": chat.message_count,
        "started_at": chat.started_at,
        "last_message_at": chat.last_message_at,
        "ended_at": chat.ended_at,
    }
    if messages is not None:
        out["messages"] = [message_out(m) for m in messages]
    return out
