"""Web-chat identity under attack (issue 10, item 5), over real WebSockets and real HTTP.

Jo chats from her browser, signed in on the shop (a valid identity token). An attacker then
opens the widget — even with Jo's own browser id, the worst case — with no token, a forged,
tampered, expired, over-long or foreign-secret token for Jo, or a valid token of another
customer. Every one of them is an anonymous visitor (or that other customer): no chat, no line
of Jo's history, not one live message of hers (the beacon over HTTP: web/tests/
test_adversarial_web.py).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from loxodon.channels.chat.models import Chat, ChatMessage
from loxodon.channels.chat.tests.conftest import (
    OTHER_VISITOR,
    VISITOR,
    agent_socket,
    hello,
    message_from,
    of_type,
    receive_until,
    say,
    token_for,
    visitor_socket,
)
from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty
from loxodon.customers.services import create_customer
from loxodon.org.models import User

pytestmark = pytest.mark.django_db(transaction=True)

JO = "jo.bloggs@example.com"
SECRET_LINE = "SECRET-CHAT my card ends 4242"
AGENT_LINE = "AGENT-SECRET your new PIN letter is on its way"
LIVE_LINE = "AGENT-LIVE only for Jo"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _tampered(prop: WebProperty) -> str:
    """A token for someone else with Jo's email swapped in; the signature kept."""
    body, sig = token_for(prop, email="mallory@evil.example").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["email"] = JO
    return f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}.{sig}"


def _unsigned(prop: WebProperty) -> str:
    body = _b64(json.dumps({"email": JO, "exp": int(time.time()) + 600}).encode())
    return f"{body}."


# name -> (token maker, who the visitor must be: None = anonymous, else the customer's email)
ATTEMPTS: dict[str, tuple[Any, str | None]] = {
    "no-token": (lambda p: None, None),
    "empty-token": (lambda p: "", None),
    "bad-signature": (lambda p: token_for(p, email=JO) + "x", None),
    "no-signature": (_unsigned, None),
    "tampered-payload": (_tampered, None),
    "expired": (lambda p: token_for(p, email=JO, exp=int(time.time()) - 1), None),
    "lives-too-long": (lambda p: token_for(p, email=JO, exp=int(time.time()) + 3 * 86400), None),
    "other-secret": (lambda p: sign_identity("not-the-shop-secret", {"email": JO}), None),
    "not-a-string": (lambda p: {"email": JO}, None),
    "other-customer": (lambda p: token_for(p, email="sam@example.com"), "sam@example.com"),
}


def test_without_a_valid_token_nobody_sees_jos_chat(
    shop: WebProperty, customer: dict[str, Any], agent: User
) -> None:
    create_customer(name="Sam Other", email="sam@example.com", verified=True)
    jo_token = token_for(shop, email=JO, name="Jo Bloggs")

    async def scenario() -> tuple[dict[str, dict[str, Any]], dict[str, list[Any]], bool, list[str]]:
        # Jo, signed in on the shop, chats; the agent answers.
        jo = visitor_socket(shop.public_key)
        jo_welcome, _ = await hello(jo, identity=jo_token)
        assert jo_welcome["identified"] is True
        await say(jo, SECRET_LINE, "jo-1")
        chat = await sync_to_async(Chat.objects.get)()
        desk = await sync_to_async(agent_socket)(agent, chat)
        assert (await desk.connect())[0]
        await desk.send_json_to({"type": "message", "client_id": "a-1", "body": AGENT_LINE})
        await receive_until(jo, message_from("agent"))

        # The attacker, from Jo's browser id and from their own, with every kind of token.
        welcomes: dict[str, dict[str, Any]] = {}
        frames: dict[str, list[Any]] = {}
        sockets = []
        for name, (make, _) in ATTEMPTS.items():
            for visitor_id in (VISITOR, OTHER_VISITOR):
                key = f"{name}@{visitor_id[:12]}"
                comm = visitor_socket(shop.public_key)
                connected, _ = await comm.connect()
                assert connected
                token = await sync_to_async(make)(shop)
                await comm.send_json_to(
                    {"type": "hello", "visitor_id": visitor_id, "identity": token}
                )
                welcome, before = await receive_until(comm, of_type("welcome"))
                welcomes[key] = welcome
                frames[key] = before
                sockets.append((key, comm))

        # A new line in Jo's chat reaches Jo, and nobody else.
        await desk.send_json_to({"type": "message", "client_id": "a-2", "body": LIVE_LINE})
        await receive_until(
            jo, lambda f: f.get("type") == "message" and f["message"]["body"] == LIVE_LINE
        )
        quiet = True
        for key, comm in sockets:
            # after the welcome only the refusal notice may come, never a chat line or status
            while not await comm.receive_nothing(timeout=0.05):
                frame = await comm.receive_json_from()
                frames[key].append(frame)
                quiet = quiet and frame.get("code") == "identity_refused"
            await comm.disconnect()
        # Jo herself, back with her token (the control): her history is there.
        again = visitor_socket(shop.public_key)
        jo_again, _ = await hello(again, identity=jo_token)
        sees_history = [m["body"] for m in jo_again["messages"]]
        for comm in (jo, desk, again):
            await comm.disconnect()
        return welcomes, frames, quiet, sees_history

    welcomes, frames, quiet, sees_history = async_to_sync(scenario)()
    assert [b for b in sees_history if "joined" not in b] == [SECRET_LINE, AGENT_LINE, LIVE_LINE]
    assert quiet
    for key, welcome in welcomes.items():
        name = key.split("@")[0]
        who = ATTEMPTS[name][1]
        text = json.dumps([welcome, *frames[key]])
        assert welcome["chat"] is None and welcome["messages"] == [], key
        assert "SECRET" not in text and "AGENT-" not in text and "Jo" not in text, (key, text)
        assert welcome["identified"] is (who is not None), key
        refused = any(f.get("code") == "identity_refused" for f in frames[key])
        assert refused is (who is None and name not in ("no-token", "empty-token")), key
    # Nothing the attackers did reached Jo's chat.
    jo_chat = Chat.objects.get(visitor_verified=True, customer_id=customer["id"])
    bodies = ChatMessage.objects.filter(chat=jo_chat).order_by("seq").values_list("body", flat=True)
    assert [b for b in bodies if "joined" not in b] == [SECRET_LINE, AGENT_LINE, LIVE_LINE]
    assert Chat.objects.count() == 1
