"""Live updates over Channels: a new event reaches open pages; a screen-pop reaches the agent."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from loxodon.asgi import application
from loxodon.core import live
from loxodon.core.testing import Api, event
from loxodon.desk.consumers import DeskConsumer
from loxodon.org.models import User


def _communicator(user: User | None, query: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(DeskConsumer.as_asgi(), f"/ws/desk/?{query}")
    comm.scope["user"] = user
    return comm


@pytest.mark.django_db(transaction=True)
def test_a_new_event_appears_on_the_open_customer_page(
    api: Api, customer: dict[str, Any], agent: User
) -> None:
    async def scenario() -> dict[str, Any]:
        comm = _communicator(agent, f"customer={customer['id']}")
        connected, _ = await comm.connect()
        assert connected
        await sync_to_async(api.post)(
            "/events", event("live-1", customer_id=customer["id"], summary="Just phoned in")
        )
        message = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return dict(message)

    message = async_to_sync(scenario)()
    assert message["type"] == "event"
    assert "Just phoned in" in message["html"]
    assert f'id="event-{message["id"]}"' in message["html"]


@pytest.mark.django_db(transaction=True)
def test_case_page_receives_events_of_its_case_only(
    api: Api, customer: dict[str, Any], agent: User
) -> None:
    case = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "Broken", "owner": "ann"}
    ).json()

    async def scenario() -> list[dict[str, Any]]:
        comm = _communicator(agent, f"case={case['id']}")
        assert (await comm.connect())[0]
        await sync_to_async(api.post)("/events", event("other", customer_id=customer["id"]))
        await sync_to_async(api.post)(f"/cases/{case['id']}/notes", {"body": "Parts: shipped"})
        got = [await comm.receive_json_from(timeout=5)]
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()
        return got

    (only,) = async_to_sync(scenario)()
    assert "Parts: shipped" in only["html"]


@pytest.mark.django_db(transaction=True)
def test_screen_pop_reaches_the_routed_agent_only(
    customer: dict[str, Any], agent: User, colleague: User
) -> None:
    async def scenario() -> tuple[dict[str, Any], bool]:
        ann = _communicator(agent, "")
        carl = _communicator(colleague, "")
        assert (await ann.connect())[0] and (await carl.connect())[0]
        await sync_to_async(live.screen_pop)(
            agent.pk,
            customer_id=customer["id"],
            reason="Call routed to you",
            detail="Verified by IVR: account AC100200",
        )
        message = await ann.receive_json_from(timeout=5)
        carl_quiet = await carl.receive_nothing(timeout=0.3)
        await ann.disconnect()
        await carl.disconnect()
        return dict(message), carl_quiet

    message, carl_quiet = async_to_sync(scenario)()
    assert message["type"] == "screen_pop"
    assert message["url"] == f"/desk/customers/{customer['id']}/"
    assert "Jo Bloggs" in message["html"] and "Verified by IVR" in message["html"]
    assert carl_quiet


@pytest.mark.django_db(transaction=True)
def test_live_connections_need_a_signed_in_agent_and_a_real_customer(
    agent: User, customer: dict[str, Any]
) -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        # Through the full ASGI stack with no session: refused
        anonymous = WebsocketCommunicator(
            application, "/ws/desk/", headers=[(b"origin", b"http://testserver")]
        )
        anon_ok, _ = await anonymous.connect()
        unknown = _communicator(agent, "customer=00000000-0000-0000-0000-000000000000")
        unknown_ok, _ = await unknown.connect()
        foreign_origin = WebsocketCommunicator(
            application, "/ws/desk/", headers=[(b"origin", b"http://evil.example")]
        )
        foreign_ok, _ = await foreign_origin.connect()
        return anon_ok, unknown_ok, foreign_ok

    assert async_to_sync(scenario)() == (False, False, False)
