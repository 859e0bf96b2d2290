"""Reads of chats. Staff reads start with the access check; a visitor reads only the chat of
their own scope (web property + visitor id + who the identity token says they are)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from loxodon.cases.models import OPEN_STATUSES, Case
from loxodon.channels.chat.models import (
    OPEN_CHAT_STATUSES,
    Chat,
    ChatMessage,
    ChatStatus,
    visitor_group,
)
from loxodon.channels.web.models import WebProperty
from loxodon.core.access import require_staff
from loxodon.core.errors import InvalidInput, NotFound
from loxodon.core.ids import parse_uuid
from loxodon.customers.models import Customer

VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
VISITOR_HISTORY = 200
DESK_LIST_LIMIT = 100
DESK_STATUSES = {
    "open": "Open",
    "waiting": "Waiting",
    "active": "Active",
    "ended": "Ended",
}


@dataclass(frozen=True)
class Visitor:
    """Who is at the other end of a widget connection.

    `customer` is set only when a valid identity token named them; otherwise the visitor is
    anonymous (their chats go to their own unverified "Web visitor" customer, see services).
    """

    web_property: WebProperty
    visitor_id: str
    customer: Customer | None = None

    @property
    def group(self) -> str:
        return visitor_group(
            self.web_property.pk, self.visitor_id, self.customer.pk if self.customer else None
        )

    def chats(self) -> QuerySet[Chat]:
        """Every chat this visitor may see: their browser, and the same person."""
        qs = Chat.objects.filter(
            web_property=self.web_property,
            visitor_id=self.visitor_id,
            visitor_verified=self.customer is not None,
        )
        if self.customer is not None:
            qs = qs.filter(customer=self.customer)
        return qs


def clean_visitor_id(value: Any) -> str:
    if not isinstance(value, str) or not VISITOR_ID.match(value):
        raise InvalidInput("visitor_id must be 16-64 letters, digits, '-' or '_'")
    return value


def property_for_key(key: str) -> WebProperty | None:
    """The active web property a widget's public key names (None: unknown or switched off)."""
    if not key or len(key) > 64:
        return None
    return WebProperty.objects.select_related("site").filter(public_key=key, active=True).first()


def open_chat_of(visitor: Visitor) -> Chat | None:
    return (
        visitor.chats()
        .filter(status__in=OPEN_CHAT_STATUSES)
        .select_related("agent")
        .order_by("-started_at")
        .first()
    )


def visitor_history(chat: Chat) -> list[ChatMessage]:
    """The latest lines of the visitor's open chat (what the widget shows after a reload)."""
    rows = list(
        ChatMessage.objects.filter(chat=chat)
        .select_related("agent")
        .order_by("-seq")[:VISITOR_HISTORY]
    )
    rows.reverse()
    return rows


def get_chat_for(user: Any, chat_id: str | uuid.UUID) -> Chat:
    require_staff(user)
    pk = parse_uuid(chat_id, "chat")
    chat = (
        Chat.objects.select_related(
            "web_property", "web_property__site", "customer", "agent", "case", "case__owner"
        )
        .filter(pk=pk)
        .first()
    )
    if chat is None:
        raise NotFound(f"no chat with id '{chat_id}'")
    return chat


def messages_of(user: Any, chat: Chat, *, after_seq: int = 0) -> list[ChatMessage]:
    require_staff(user)
    return list(
        ChatMessage.objects.filter(chat=chat, seq__gt=after_seq)
        .select_related("agent")
        .order_by("seq")
    )


def chats_for_desk(user: Any, status: str = "open") -> list[Chat]:
    """The desk's chat list: waiting first (longest waiting on top), then active; or one
    status; ended chats newest first."""
    require_staff(user)
    if status not in DESK_STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(DESK_STATUSES)}")
    qs = Chat.objects.select_related("customer", "agent", "web_property", "case")
    if status == "ended":
        return list(qs.filter(status=ChatStatus.ENDED).order_by("-ended_at")[:DESK_LIST_LIMIT])
    statuses: list[str] = list(OPEN_CHAT_STATUSES) if status == "open" else [status]
    rows = list(qs.filter(status__in=statuses).order_by("last_message_at")[:DESK_LIST_LIMIT])
    rows.sort(key=lambda c: (c.status != ChatStatus.WAITING, c.last_message_at))
    return rows


def chat_counts(user: Any) -> dict[str, int]:
    require_staff(user)
    counts = dict.fromkeys(DESK_STATUSES, 0)
    for status in Chat.objects.filter(status__in=OPEN_CHAT_STATUSES).values_list(
        "status", flat=True
    ):
        counts[status] += 1
    counts["open"] = counts["waiting"] + counts["active"]
    return counts


def joinable_cases(user: Any, chat: Chat) -> list[Case]:
    """The chat customer's open cases (what "Join an open case" offers)."""
    require_staff(user)
    return list(
        Case.objects.filter(customer_id=chat.customer_id, status__in=OPEN_STATUSES)
        .select_related("owner")
        .order_by("-updated_at")[:50]
    )
