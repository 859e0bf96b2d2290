"""The chat's one living timeline event (kind "chat", channel "chat"; ADR 8).

Created with the visitor's first message through `ingest_events` (source "chat", external id =
the chat's id, so a replayed creation finds the same row) and amended after every change
through `amend_living_event`. The body is a compact plain-text transcript, one line per message:

    Visitor: my laptop will not start
    · Ann joined the chat
    Ann: Sorry to hear that. Which model is it?

Line breaks inside a message are folded into spaces; a transcript longer than
`MAX_TRANSCRIPT_CHARS` keeps its first line and the most recent lines that fit (the full chat is
always on the desk's chat page). The desk renders it with `desk/events/chat.html`, from the
row alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loxodon.channels.chat.models import Chat, ChatMessage, ChatStatus, Sender
from loxodon.core.event_types import Channel
from loxodon.timeline.models import Event
from loxodon.timeline.services import EventDraft, amend_living_event, ingest_events

SOURCE = "chat"
KIND = "chat"
MAX_TRANSCRIPT_CHARS = 12_000
SYSTEM_PREFIX = "· "


def _name(chat: Chat) -> str | None:
    if chat.agent is None:
        return None
    return chat.agent.first_name or chat.agent.username


def transcript_line(message: ChatMessage) -> str:
    text = " ".join(message.body.split())
    if message.sender == Sender.SYSTEM:
        return SYSTEM_PREFIX + text
    if message.sender == Sender.AGENT and message.agent is not None:
        return f"{message.agent.first_name or message.agent.username}: {text}"
    return f"Visitor: {text}"


def transcript(messages: Sequence[ChatMessage]) -> str:
    lines = [transcript_line(m) for m in messages]
    full = "\n".join(lines)
    if len(full) <= MAX_TRANSCRIPT_CHARS or len(lines) < 3:
        return full[:MAX_TRANSCRIPT_CHARS]
    head = lines[0][:2000]
    tail: list[str] = []
    room = MAX_TRANSCRIPT_CHARS - len(head) - 80
    for line in reversed(lines[1:]):
        if len(line) + 1 > room:
            break
        tail.append(line)
        room -= len(line) + 1
    omitted = len(lines) - 1 - len(tail)
    gap = f"{SYSTEM_PREFIX}… {omitted} line{'s' if omitted != 1 else ''} not shown here"
    return "\n".join([head, gap, *reversed(tail)])


def summary(chat: Chat) -> str:
    n = chat.message_count
    who = f"Chat with {_name(chat)}" if chat.agent is not None else "Chat"
    if chat.status == ChatStatus.WAITING:
        who += " (waiting for an agent)"
    return f"{who} · {n} message{'s' if n != 1 else ''} · about: {chat.about}"


def payload(chat: Chat) -> dict[str, Any]:
    return {
        "chat_id": str(chat.pk),
        "status": chat.status,
        "messages": chat.message_count,
        "agent": _name(chat),
        "web_property": chat.web_property.name,
        "visitor": "signed in on the web site" if chat.visitor_verified else "anonymous",
    }


def chat_started(chat: Chat, messages: Sequence[ChatMessage]) -> Event:
    """The chat's event, created idempotently (the caller stores it on `chat.event`)."""
    site = chat.web_property.site
    draft = EventDraft(
        source=SOURCE,
        external_id=str(chat.pk),
        channel=Channel.CHAT,
        kind=KIND,
        occurred_at=chat.started_at,
        summary=summary(chat)[:300],
        body=transcript(messages),
        payload=payload(chat),
        customer_id=chat.customer_id,
        site=site.code if site is not None else None,
    )
    (result,) = ingest_events([draft], indexed=False)
    return result.event


def chat_changed(chat: Chat, messages: Sequence[ChatMessage]) -> Event:
    """Bring the event up to date (the caller holds the chat's row lock)."""
    if chat.event_id is None:  # pragma: no cover - set in the transaction creating the chat
        raise RuntimeError(f"chat {chat.pk} has no timeline event")
    return amend_living_event(
        chat.event_id,
        summary=summary(chat),
        body=transcript(messages),
        payload=payload(chat),
        case_id=chat.case_id,
        actor=chat.agent,
    )
