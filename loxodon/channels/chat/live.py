"""Live delivery of chat messages and status changes over the Channels layer.

Services call `publish_on_commit` inside their transaction; the message goes out after commit
to two groups: the chat's own group (`chat.<id>`, joined by agents' sockets after an access
check) and the visitor's scope group (`models.visitor_group`, joined by the visitor's sockets
after the key, origin and identity checks). Unlike the desk's timeline notifications these
carry the message itself: both groups are exactly the chat's audience, and each consumer
sends its own view (an agent's full name to staff, the first name to the visitor).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from loxodon.channels.chat.models import Chat, ChatMessage

log = logging.getLogger(__name__)


def chat_group(chat_id: uuid.UUID | str) -> str:
    return f"chat.{uuid.UUID(str(chat_id)).hex}"


def message_frame(message: ChatMessage, *, for_staff: bool) -> dict[str, Any]:
    """One transcript line as the widget (`for_staff=False`) or the desk receives it."""
    frame: dict[str, Any] = {
        "id": str(message.pk),
        "chat_id": str(message.chat_id),
        "seq": message.seq,
        "sender": message.sender,
        "author": message.author_for_staff() if for_staff else message.author_for_visitor(),
        "body": message.body,
        "client_id": message.client_id,
        "created_at": message.created_at.astimezone(UTC).isoformat(),
    }
    return frame


def chat_state(chat: Chat, *, for_staff: bool) -> dict[str, Any]:
    agent = chat.agent
    state: dict[str, Any] = {
        "id": str(chat.pk),
        "status": chat.status,
        "agent": (agent.display_name if for_staff else (agent.first_name or "Agent"))
        if agent is not None
        else None,
    }
    if for_staff:
        state["case_id"] = str(chat.case_id) if chat.case_id else None
    return state


def publish_on_commit(chat: Chat, message: ChatMessage | None = None) -> None:
    event: dict[str, Any] = {
        "type": "chat.update",
        "staff": {
            "chat": chat_state(chat, for_staff=True),
            "message": message_frame(message, for_staff=True) if message else None,
        },
        "visitor": {
            "chat": chat_state(chat, for_staff=False),
            "message": message_frame(message, for_staff=False) if message else None,
        },
    }
    groups = [chat_group(chat.pk), chat.visitor_group()]
    transaction.on_commit(lambda: _send(groups, event))


def _send(groups: list[str], event: dict[str, Any]) -> None:
    """Publishing never fails a committed write: a lost notification is logged (the widget and
    the desk page catch up from the database when they reconnect)."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send() -> None:
        for group in groups:
            await layer.group_send(group, event)

    try:
        async_to_sync(send)()
    except Exception:
        log.exception("live chat notification failed")
