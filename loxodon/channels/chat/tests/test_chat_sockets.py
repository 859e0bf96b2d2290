"""Web chat over real WebSockets (the whole ASGI app): visitors, agents, identity, security."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from loxodon.channels.chat import consumers
from loxodon.channels.chat.models import Chat, ChatMessage, ChatStatus
from loxodon.channels.chat.tests.conftest import (
    OTHER_VISITOR,
    SHOP,
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
from loxodon.channels.web.models import WebProperty
from loxodon.core.testing import Api
from loxodon.customers.models import Customer, Identity
from loxodon.org.models import User
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_visitor_chats_and_an_agent_answers_from_the_desk_socket(
    shop: WebProperty, agent: User
) -> None:
    # Given a visitor without an identity token
    async def visitor_writes() -> tuple[dict[str, Any], dict[str, Any]]:
        comm = visitor_socket(shop.public_key)
        welcome, _ = await hello(comm)
        ack = await say(comm, "Hello, is the X1 laptop in stock?", "m-1")
        await comm.disconnect()
        return welcome, ack

    welcome, ack = async_to_sync(visitor_writes)()
    assert welcome["identified"] is False and welcome["chat"] is None
    assert welcome["messages"] == []
    assert ack["message"]["author"] == "You" and ack["message"]["seq"] == 1

    chat = Chat.objects.select_related("customer").get()
    assert chat.status == ChatStatus.WAITING and not chat.visitor_verified
    # ... they became an unverified "Web visitor" customer with a chat_visitor identity
    assert chat.customer.name.startswith("Web visitor ")
    identity = Identity.objects.get(customer=chat.customer)
    digest = hashlib.sha256(VISITOR.encode()).hexdigest()[:32]
    assert (identity.kind, identity.value, identity.verified) == (
        "chat_visitor",
        f"{shop.public_key}:{digest}",
        False,
    )

    # When the visitor comes back and an agent answers over the desk's chat socket
    async def conversation() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        visitor = visitor_socket(shop.public_key)
        welcome, _ = await hello(visitor)
        desk = await sync_to_async(agent_socket)(agent, chat)
        assert (await desk.connect())[0]
        missed, _ = await receive_until(desk, message_from("visitor"))
        await desk.send_json_to({"type": "message", "client_id": "a-1", "body": "Yes, 4 left."})
        reply, before = await receive_until(visitor, message_from("agent"))
        status, _ = await receive_until(visitor, of_type("status"))
        await visitor.disconnect()
        await desk.disconnect()
        return welcome, [missed, reply, *before], status

    welcome, (missed, reply, *before), status = async_to_sync(conversation)()
    # Then the visitor saw the earlier lines on reconnecting, the agent got the message
    # it missed, and the visitor received the reply by the agent's first name
    assert [m["body"] for m in welcome["messages"]] == ["Hello, is the X1 laptop in stock?"]
    assert welcome["chat"]["status"] == "waiting"
    assert missed["message"]["body"] == "Hello, is the X1 laptop in stock?"
    assert missed["message"]["author"] == "Visitor"
    assert reply["message"]["author"] == "Ann" and reply["message"]["body"] == "Yes, 4 left."
    assert any(f["type"] == "message" and "Ann joined" in f["message"]["body"] for f in before)
    assert status["chat"] == {"id": str(chat.pk), "status": "active", "agent": "Ann"}
    chat.refresh_from_db()
    assert chat.status == ChatStatus.ACTIVE and chat.agent == agent


def test_an_agent_reply_through_the_api_reaches_the_visitor(shop: WebProperty, api: Api) -> None:
    async def scenario() -> dict[str, Any]:
        visitor = visitor_socket(shop.public_key)
        await hello(visitor)
        await say(visitor, "Where is my order?", "m-1")
        chat = await sync_to_async(Chat.objects.get)()
        response = await sync_to_async(api.post)(
            f"/channels/chat/chats/{chat.pk}/messages", {"body": "Let me check.", "client_id": "r1"}
        )
        assert response.status_code == 201, response.content
        again = await sync_to_async(api.post)(
            f"/channels/chat/chats/{chat.pk}/messages", {"body": "Let me check.", "client_id": "r1"}
        )
        assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
        reply, _ = await receive_until(visitor, message_from("agent"))
        await visitor.disconnect()
        return dict(reply["message"])

    reply = async_to_sync(scenario)()
    assert reply["body"] == "Let me check." and reply["author"] == "Ann"
    assert ChatMessage.objects.filter(sender="agent").count() == 1


def test_a_valid_identity_token_links_the_chat_to_that_customer(
    shop: WebProperty, customer: dict[str, Any]
) -> None:
    token = token_for(shop, email="jo.bloggs@example.com", name="Jo Bloggs")

    async def scenario() -> dict[str, Any]:
        comm = visitor_socket(shop.public_key)
        welcome, before = await hello(comm, identity=token)
        assert not [f for f in before if f["type"] == "error"]
        await say(comm, "My invoice is wrong", "m-1")
        await comm.disconnect()
        return welcome

    welcome = async_to_sync(scenario)()
    assert welcome["identified"] is True and welcome["name"] == "Jo"
    chat = Chat.objects.get()
    assert str(chat.customer_id) == customer["id"] and chat.visitor_verified
    event = Event.objects.get(source="chat")
    assert str(event.customer_id) == customer["id"] and event.kind == "chat"
    assert not Customer.objects.filter(name__startswith="Web visitor").exists()


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda p: token_for(p, email="jo.bloggs@example.com") + "x", id="bad-sig"),
        pytest.param(
            lambda p: token_for(p, email="jo.bloggs@example.com", exp=int(time.time()) - 5),
            id="expired",
        ),
        pytest.param(lambda p: "not-a-token", id="malformed"),
        pytest.param(
            lambda p: token_for(
                WebProperty(identity_secret="someone-else"), email="jo.bloggs@example.com"
            ),
            id="other-secret",
        ),
    ],
)
def test_a_refused_identity_token_leaves_the_visitor_anonymous(
    shop: WebProperty, customer: dict[str, Any], make_token: Any
) -> None:
    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        comm = visitor_socket(shop.public_key)
        welcome, _ = await hello(comm, identity=make_token(shop))
        refusal, _ = await receive_until(comm, of_type("error", code="identity_refused"))
        ack = await say(comm, "Hi, I am Jo Bloggs", "m-1")
        await comm.disconnect()
        return welcome, [refusal, ack]

    welcome, (refusal, ack) = async_to_sync(scenario)()
    assert welcome["identified"] is False and welcome["name"] is None
    assert "guest" in refusal["detail"]
    assert ack["type"] == "ack"
    chat = Chat.objects.select_related("customer").get()
    assert str(chat.customer_id) != customer["id"] and not chat.visitor_verified
    assert chat.customer.name.startswith("Web visitor")


def _refused(key: str, origin: str) -> tuple[dict[str, Any], int | None]:
    async def scenario() -> tuple[dict[str, Any], int | None]:
        comm = visitor_socket(key, origin)
        connected, _ = await comm.connect()
        assert connected  # accepted only to say why, then closed
        frame = await comm.receive_json_from(timeout=5)
        closed = await comm.receive_output(timeout=5)
        return dict(frame), closed.get("code")

    return async_to_sync(scenario)()


def test_a_foreign_origin_is_refused(shop: WebProperty) -> None:
    frame, code = _refused(shop.public_key, "https://evil.example")
    assert code == 4403 and frame["code"] == "forbidden"


def test_an_unknown_or_inactive_key_is_refused(shop: WebProperty) -> None:
    assert _refused("pk_nobody", SHOP)[1] == 4403
    shop.active = False
    shop.save(update_fields=["active"])
    assert _refused(shop.public_key, SHOP)[1] == 4403


def test_each_visitor_message_replayed_three_times_is_one_message_and_one_event(
    shop: WebProperty,
) -> None:
    async def scenario() -> list[dict[str, Any]]:
        acks = []
        first = visitor_socket(shop.public_key)
        await hello(first)
        for _ in range(3):
            acks.append(await say(first, "Is the X1 in stock?", "m-1"))
        await first.disconnect()
        # ... and again after a reconnect (the widget re-sends what was not acknowledged)
        second = visitor_socket(shop.public_key)
        await hello(second)
        for _ in range(3):
            acks.append(await say(second, "And the X2?", "m-2"))
        acks.append(await say(second, "Is the X1 in stock?", "m-1"))
        await second.disconnect()
        return acks

    acks = async_to_sync(scenario)()
    assert len({a["message"]["id"] for a in acks[:3]}) == 1
    assert len({a["message"]["id"] for a in acks[3:6]}) == 1
    assert acks[6]["message"]["id"] == acks[0]["message"]["id"]
    assert ChatMessage.objects.count() == 2
    assert Chat.objects.count() == 1
    event = Event.objects.get(source="chat")
    before = {"summary": event.summary, "body": event.body}
    assert event.body == "Visitor: Is the X1 in stock?\nVisitor: And the X2?"
    assert "2 messages" in event.summary

    async def replay_again() -> None:
        comm = visitor_socket(shop.public_key)
        await hello(comm)
        for _ in range(3):
            await say(comm, "And the X2?", "m-2")
        await comm.disconnect()

    async_to_sync(replay_again)()
    event = Event.objects.get(source="chat")
    assert {"summary": event.summary, "body": event.body} == before
    assert ChatMessage.objects.count() == 2


def test_a_visitor_never_sees_another_visitors_chat(shop: WebProperty, agent: User) -> None:
    other_shop = WebProperty.objects.create(name="Outlet", allowed_origins=SHOP)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bool]:
        alice = visitor_socket(shop.public_key)
        await hello(alice)
        await say(alice, "Private question about my order", "a-1")
        bob = visitor_socket(shop.public_key)
        bob_welcome, _ = await hello(bob, visitor_id=OTHER_VISITOR)
        # the same visitor id on another property is another visitor too
        elsewhere = visitor_socket(other_shop.public_key)
        elsewhere_welcome, _ = await hello(elsewhere)
        # signed in as someone on the same browser: not the anonymous chat either
        signed_in = visitor_socket(shop.public_key)
        token = await sync_to_async(token_for)(shop, email="sam@example.com")
        signed_welcome, _ = await hello(signed_in, identity=token)
        chat = await sync_to_async(Chat.objects.get)()
        desk = await sync_to_async(agent_socket)(agent, chat)
        assert (await desk.connect())[0]
        await desk.send_json_to({"type": "message", "client_id": "x", "body": "Only for Alice"})
        await receive_until(alice, message_from("agent"))
        quiet = (
            await bob.receive_nothing(timeout=0.3)
            and await elsewhere.receive_nothing(timeout=0.1)
            and await signed_in.receive_nothing(timeout=0.1)
        )
        for comm in (alice, bob, elsewhere, signed_in, desk):
            await comm.disconnect()
        return bob_welcome, elsewhere_welcome, signed_welcome, quiet

    bob, elsewhere, signed, quiet = async_to_sync(scenario)()
    for welcome in (bob, elsewhere, signed):
        assert welcome["chat"] is None and welcome["messages"] == []
    assert quiet


def test_the_agent_socket_needs_a_signed_in_member_of_staff(shop: WebProperty, agent: User) -> None:
    async def start_chat() -> None:
        comm = visitor_socket(shop.public_key)
        await hello(comm)
        await say(comm, "Hello?", "m-1")
        await comm.disconnect()

    async_to_sync(start_chat)()
    chat = Chat.objects.get()
    inactive = User.objects.create_user(username="gone", password="x", is_active=False)

    sockets = [
        agent_socket(None, chat),
        agent_socket(inactive, chat),
        agent_socket(agent, "00000000-0000-0000-0000-000000000000"),
        agent_socket(agent, chat, origin="https://evil.example"),
    ]

    async def scenario() -> list[tuple[bool, int | None]]:
        results = []
        for comm in sockets:
            connected, code = await comm.connect()
            results.append((connected, code))
        return results

    results = async_to_sync(scenario)()
    assert [connected for connected, _ in results] == [False, False, False, False]
    assert [code for _, code in results[:3]] == [4401, 4401, 4404]


def test_frames_are_validated_and_rate_limited(
    shop: WebProperty, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "RATE_LIMIT", 6)
    monkeypatch.setattr(consumers, "RATE_WINDOW_SECONDS", 3600.0)

    async def scenario() -> list[dict[str, Any]]:
        comm = visitor_socket(shop.public_key)
        connected, _ = await comm.connect()
        assert connected
        await comm.send_json_to({"type": "message", "client_id": "m-0", "body": "too early"})
        frames = [await comm.receive_json_from(timeout=5)]  # 1: hello first
        await hello_frame(comm)  # 2
        await receive_until(comm, of_type("welcome"))
        frames.append(await say(comm, "x" * 2001, "m-1"))  # 3: too long
        await comm.send_to(text_data="{not json")  # 4
        frames.append(await comm.receive_json_from(timeout=5))
        frames.append(await say(comm, "   ", "m-2"))  # 5: empty
        frames.append(await say(comm, "fine", "m-3"))  # 6: stored
        await comm.send_json_to({"type": "message", "client_id": "m-4", "body": "one more"})
        limited, _ = await receive_until(comm, of_type("error"))  # 7: over the limit
        frames.append(limited)
        await comm.disconnect()
        return frames

    async def hello_frame(comm: Any) -> None:
        await comm.send_to(text_data=json.dumps({"type": "hello", "visitor_id": VISITOR}))

    early, too_long, not_json, empty, fine, limited = async_to_sync(scenario)()
    assert early["code"] == "hello_first"
    assert too_long["type"] == "error" and "2000" in too_long["detail"]
    assert too_long["client_id"] == "m-1"
    assert not_json["type"] == "error" and "JSON" in not_json["detail"]
    assert empty["type"] == "error"
    assert fine["type"] == "ack"
    assert limited["code"] == "rate_limited"
    assert list(ChatMessage.objects.values_list("body", flat=True)) == ["fine"]


def test_the_visitor_can_end_the_chat_and_then_start_a_new_one(shop: WebProperty, api: Api) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        comm = visitor_socket(shop.public_key)
        await hello(comm)
        first = await say(comm, "Question one", "m-1")
        await comm.send_json_to({"type": "end"})
        ended, _ = await receive_until(
            comm, lambda f: f["type"] == "status" and f["chat"]["status"] == "ended"
        )
        second = await say(comm, "Question two", "m-2")
        await comm.disconnect()
        assert second["message"]["chat_id"] != first["message"]["chat_id"]
        return ended, first

    ended, first = async_to_sync(scenario)()
    assert ended["chat"]["id"] == first["message"]["chat_id"]
    old = Chat.objects.get(pk=first["message"]["chat_id"])
    assert old.status == ChatStatus.ENDED and old.ended_at is not None
    assert Chat.objects.count() == 2 and Event.objects.filter(source="chat").count() == 2
    # both chats are the same anonymous visitor, hence the same customer
    assert Chat.objects.values("customer").distinct().count() == 1
    refused = api.post(f"/channels/chat/chats/{old.pk}/messages", {"body": "Still there?"})
    assert refused.status_code == 409 and "ended" in refused.json()["detail"]
