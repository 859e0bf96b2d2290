"""Fixtures for web chat: a shop property, sockets through the real ASGI app, signed tokens."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from loxodon.asgi import application
from loxodon.channels.chat.models import Chat
from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty
from loxodon.org.models import Site, User

SHOP = "https://shop.example.com"
VISITOR = "visitor-0123456789abcdef"
OTHER_VISITOR = "visitor-fedcba9876543210"
Frame = dict[str, Any]


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shop(site: Site) -> WebProperty:
    return WebProperty.objects.create(name="Shop", site=site, allowed_origins=SHOP)


def token_for(prop: WebProperty, **claims: Any) -> str:
    claims.setdefault("exp", int(time.time()) + 600)
    return sign_identity(prop.identity_secret, claims)


def visitor_socket(key: str, origin: str = SHOP) -> WebsocketCommunicator:
    """A widget's connection, through the whole ASGI stack (routing included)."""
    return WebsocketCommunicator(
        application, f"/ws/chat/?key={key}", headers=[(b"origin", origin.encode())]
    )


def agent_socket(
    user: User | None, chat: Chat | str, after: int = 0, origin: str = "http://testserver"
) -> WebsocketCommunicator:
    """The desk chat page's connection, with the agent's session cookie (if any)."""
    headers = [(b"origin", origin.encode())]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    chat_id = chat.pk if isinstance(chat, Chat) else chat
    return WebsocketCommunicator(
        application, f"/ws/chat/agent/?chat={chat_id}&after={after}", headers=headers
    )


async def receive_until(
    comm: WebsocketCommunicator, wanted: Callable[[Frame], bool], timeout: float = 10
) -> tuple[Frame, list[Frame]]:
    """Read frames until one matches (returned with everything read before it)."""
    deadline = time.monotonic() + timeout
    seen: list[Frame] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching frame within {timeout}s; got {seen}")
        frame = await comm.receive_json_from(timeout=left)
        if wanted(frame):
            return frame, seen
        seen.append(frame)


def of_type(kind: str, **fields: Any) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        if frame.get("type") != kind:
            return False
        return all(frame.get(k) == v for k, v in fields.items())

    return match


def message_from(sender: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == "message" and f["message"]["sender"] == sender


async def hello(
    comm: WebsocketCommunicator, visitor_id: str = VISITOR, identity: str | None = None
) -> tuple[Frame, list[Frame]]:
    """Connect and introduce the visitor: (welcome frame, frames before it)."""
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(
        text_data=json.dumps({"type": "hello", "visitor_id": visitor_id, "identity": identity})
    )
    return await receive_until(comm, of_type("welcome"))


async def say(comm: WebsocketCommunicator, body: str, client_id: str) -> Frame:
    """Send a visitor message and wait for its acknowledgement."""
    await comm.send_json_to({"type": "message", "client_id": client_id, "body": body})
    frame, _ = await receive_until(comm, lambda f: f.get("type") in ("ack", "error"))
    return frame
