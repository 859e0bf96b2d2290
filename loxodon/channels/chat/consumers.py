"""The two ends of a chat socket. Thin: validate a frame, call one service, send frames.

Visitor: `/ws/chat/?key=<public key>` from the widget on the company's site. The property must
exist and be active, and the browser's Origin must be one of its allowed origins; otherwise the
socket is accepted only to send an error frame and close with 4403 (so the widget knows not to
retry). Frames are JSON text, at most `MAX_FRAME_CHARS`, at most `RATE_LIMIT` frames per
`RATE_WINDOW_SECONDS` per connection (more → an error frame, nothing stored).

    → {"type": "hello", "visitor_id": "<16-64 chars>", "identity": "<token>"?}   (first frame)
    ← {"type": "welcome", "identified": bool, "name": str|null, "chat": {...}|null,
       "messages": [...]}
    ← {"type": "error", "code": "identity_refused", "detail": "..."}  (token refused: anonymous)
    → {"type": "message", "client_id": "<unique per message>", "body": "<≤ 2000 chars>"}
    ← {"type": "ack", "client_id": "...", "message": {...}}             (also for a replay)
    ← {"type": "message", "message": {"id", "chat_id", "seq", "sender", "author", "body",
       "client_id", "created_at"}}                                       (every new line)
    ← {"type": "status", "chat": {"id", "status", "agent"}}
    → {"type": "end"}                                                   (the visitor leaves)
    ← {"type": "error", "code": "invalid"|"rate_limited"|"too_large"|..., "detail": "..."}

Agent: `/ws/chat/agent/?chat=<id>&after=<seq>` from the desk's chat page, with the session
user (staff only: 4401 otherwise; unknown chat 4404). It first sends the lines after `after`
(what the page missed between rendering and connecting), then every new line and status.
    → {"type": "message", "client_id": "...", "body": "..."}
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from loxodon.channels.chat import selectors, services
from loxodon.channels.chat.live import chat_group, chat_state, message_frame
from loxodon.channels.chat.models import Chat
from loxodon.channels.chat.selectors import Visitor
from loxodon.channels.web.models import WebProperty
from loxodon.core.errors import DomainError
from loxodon.org.models import User

MAX_FRAME_CHARS = 16_000
RATE_LIMIT = 20
RATE_WINDOW_SECONDS = 10.0


def _query(scope: dict[str, Any]) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {k: v[0] for k, v in parsed.items() if v}


def _origin(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return str(value.decode("latin-1"))
    return None


class _RateLimitedJsonConsumer(AsyncJsonWebsocketConsumer):
    """JSON frames, size-checked before parsing and rate-limited per connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recent: deque[float] = deque()  # when this connection's latest frames arrived

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        now = time.monotonic()
        recent = self.recent
        while recent and now - recent[0] > RATE_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= RATE_LIMIT:
            await self.error("rate_limited", "You are sending messages too fast; wait a moment.")
            return
        recent.append(now)
        if text_data is None:
            await self.error("invalid", "frames must be JSON text")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self.error("too_large", "that frame is too large")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.error("invalid", "frames must be JSON")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.error("invalid", 'a frame is an object with a "type"')
            return
        await self.receive_json(content)

    async def error(self, code: str, detail: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail, **extra})


class VisitorChatConsumer(_RateLimitedJsonConsumer):
    web_property: WebProperty | None = None
    visitor: Visitor | None = None

    async def connect(self) -> None:
        key = _query(self.scope).get("key", "")
        prop = await database_sync_to_async(selectors.property_for_key)(key)
        await self.accept()
        if prop is None:
            await self.error("forbidden", "chat is not available here (unknown or inactive key)")
            await self.close(code=4403)
            return
        if not prop.origin_allowed(_origin(self.scope)):
            await self.error("forbidden", "chat is not enabled for this web site")
            await self.close(code=4403)
            return
        self.web_property = prop

    async def disconnect(self, code: int) -> None:
        if self.visitor is not None:
            await self.channel_layer.group_discard(self.visitor.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.web_property is None:
            return
        kind = content["type"]
        if kind == "hello":
            await self._hello(content)
        elif self.visitor is None:
            await self.error("hello_first", 'send {"type": "hello", "visitor_id": ...} first')
        elif kind == "message":
            await self._message(content)
        elif kind == "end":
            try:
                await database_sync_to_async(services.end_visitor_chat)(self.visitor)
            except DomainError as exc:  # e.g. an agent ended it a moment before
                await self.error("invalid", exc.detail)
        elif kind != "ping":
            await self.error("invalid", f"unknown frame type '{kind[:40]}'")

    async def _hello(self, content: dict[str, Any]) -> None:
        if self.visitor is not None:
            await self.error("invalid", "hello was already sent on this connection")
            return
        assert self.web_property is not None  # noqa: S101 - set in connect
        try:
            hello, chat, history = await self._greet(
                self.web_property, content.get("visitor_id"), content.get("identity")
            )
        except DomainError as exc:
            await self.error("invalid", exc.detail)
            return
        self.visitor = hello.visitor
        await self.channel_layer.group_add(hello.visitor.group, self.channel_name)
        customer = hello.visitor.customer
        await self.send_json(
            {
                "type": "welcome",
                "identified": customer is not None,
                "name": (customer.first_name or customer.name) if customer else None,
                "chat": chat_state(chat, for_staff=False) if chat else None,
                "messages": [message_frame(m, for_staff=False) for m in history],
            }
        )
        if hello.refusal:
            await self.error("identity_refused", hello.refusal)

    @database_sync_to_async
    def _greet(
        self, prop: WebProperty, visitor_id: Any, token: Any
    ) -> tuple[services.Hello, Chat | None, list[Any]]:
        hello = services.greet_visitor(prop, visitor_id, token)
        chat = selectors.open_chat_of(hello.visitor)
        return hello, chat, selectors.visitor_history(chat) if chat else []

    async def _message(self, content: dict[str, Any]) -> None:
        assert self.visitor is not None  # noqa: S101 - checked by the caller
        client_id = content.get("client_id")
        try:
            posted = await database_sync_to_async(services.post_visitor_message)(
                self.visitor, body=content.get("body"), client_id=client_id
            )
        except DomainError as exc:
            await self.error(
                "invalid", exc.detail, client_id=client_id if isinstance(client_id, str) else None
            )
            return
        await self.send_json(
            {
                "type": "ack",
                "client_id": posted.message.client_id,
                "message": message_frame(posted.message, for_staff=False),
            }
        )

    async def chat_update(self, event: dict[str, Any]) -> None:
        view = event["visitor"]
        if view["message"] is not None:
            await self.send_json({"type": "message", "message": view["message"]})
        await self.send_json({"type": "status", "chat": view["chat"]})


class AgentChatConsumer(_RateLimitedJsonConsumer):
    user: User
    chat: Chat

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not getattr(user, "is_staff_member", False):
            await self.close(code=4401)
            return
        self.user = user
        query = _query(self.scope)
        loaded = await self._load(query.get("chat", ""), query.get("after", "0"))
        if loaded is None:
            await self.close(code=4404)
            return
        self.chat, missed = loaded
        await self.channel_layer.group_add(chat_group(self.chat.pk), self.channel_name)
        await self.accept()
        for frame in missed:
            await self.send_json({"type": "message", "message": frame})

    @database_sync_to_async
    def _load(self, chat_id: str, after: str) -> tuple[Chat, list[dict[str, Any]]] | None:
        try:
            chat = selectors.get_chat_for(self.user, chat_id)
        except DomainError:
            return None
        seq = int(after) if after.isdigit() else 0
        missed = selectors.messages_of(self.user, chat, after_seq=seq)
        return chat, [message_frame(m, for_staff=True) for m in missed]

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "chat"):
            await self.channel_layer.group_discard(chat_group(self.chat.pk), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content["type"] != "message":
            if content["type"] != "ping":
                await self.error("invalid", f"unknown frame type '{content['type'][:40]}'")
            return
        client_id = content.get("client_id")
        try:
            await database_sync_to_async(self._reply)(content.get("body"), client_id)
        except DomainError as exc:
            await self.error(
                "invalid", exc.detail, client_id=client_id if isinstance(client_id, str) else None
            )

    def _reply(self, body: Any, client_id: Any) -> None:
        chat = selectors.get_chat_for(self.user, self.chat.pk)  # access re-checked per message
        services.post_agent_message(chat=chat, agent=self.user, body=body, client_id=client_id)

    async def chat_update(self, event: dict[str, Any]) -> None:
        view = event["staff"]
        if view["message"] is not None:
            await self.send_json({"type": "message", "message": view["message"]})
        await self.send_json({"type": "status", "chat": view["chat"]})
