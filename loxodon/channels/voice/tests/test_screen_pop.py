"""A call routed to an agent pops the customer on that agent's desk, with what the IVR collected."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from loxodon.channels.voice.tests.deliveries import Pbx, ended, ivr, routed, started
from loxodon.desk.consumers import DeskConsumer
from loxodon.org.models import Department, User


def _desk_socket(user: User) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(DeskConsumer.as_asgi(), "/ws/desk/")
    comm.scope["user"] = user
    return comm


def _pops_after(
    deliveries: list[dict[str, Any]], pbx: Pbx, *listeners: User
) -> list[list[dict[str, Any]]]:
    """Connect each listener's desk, send the deliveries, and collect what each desk got."""

    async def scenario() -> list[list[dict[str, Any]]]:
        sockets = [_desk_socket(user) for user in listeners]
        for socket in sockets:
            assert (await socket.connect())[0]
        for body in deliveries:
            response = await sync_to_async(pbx.send)(body)
            assert response.status_code in (200, 201), response.content
        received: list[list[dict[str, Any]]] = []
        for socket in sockets:
            got = []
            while not await socket.receive_nothing(timeout=0.3):
                got.append(dict(await socket.receive_json_from(timeout=5)))
            received.append(got)
            await socket.disconnect()
        return received

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_the_routed_agent_sees_the_customer_verified_by_ivr_and_nobody_else_does(
    pbx: Pbx, customer: dict[str, Any], agent: User, colleague: User
) -> None:
    ann, carl = _pops_after([started(), ivr(), routed()], pbx, agent, colleague)
    (pop,) = [m for m in ann if m["type"] == "screen_pop"]
    assert pop["url"] == f"/desk/customers/{customer['id']}/"
    html = pop["html"]
    assert "Jo Bloggs" in html
    assert "Verified by IVR" in html
    assert "AC100200" in html
    assert "support \u203a drivers" in html
    assert "driver for refurbished laptop" in html
    assert "Call from +44 1632 960001 on 0800 123 456" in html
    assert "Open the 360 view" in html and f'href="/desk/customers/{customer["id"]}/"' in html
    assert carl == []


@pytest.mark.django_db(transaction=True)
def test_a_caller_the_ivr_could_not_verify_pops_as_not_verified(
    pbx: Pbx, customer: dict[str, Any], agent: User
) -> None:
    (ann,) = _pops_after([started(), ivr(verified=False), routed()], pbx, agent)
    (pop,) = [m for m in ann if m["type"] == "screen_pop"]
    assert "Not verified" in pop["html"] and "Verified by IVR" not in pop["html"]
    assert "AC100200" in pop["html"]  # what they typed, for the agent to check


@pytest.mark.django_db(transaction=True)
def test_replays_and_department_routing_pop_nobody_twice(
    pbx: Pbx,
    customer: dict[str, Any],
    agent: User,
    colleague: User,
    departments: dict[str, Department],
) -> None:
    deliveries = [started(), routed(), routed(), routed()]
    deliveries.append(routed(agent=None, department="finance") | {"id": "to-finance"})
    ann, carl = _pops_after(deliveries, pbx, agent, colleague)
    assert len([m for m in ann if m["type"] == "screen_pop"]) == 1
    assert carl == []


@pytest.mark.django_db(transaction=True)
def test_a_routing_that_arrives_after_the_call_ended_pops_nobody(
    pbx: Pbx, customer: dict[str, Any], agent: User
) -> None:
    (ann,) = _pops_after([started(), ended(), routed()], pbx, agent)
    assert [m for m in ann if m["type"] == "screen_pop"] == []
