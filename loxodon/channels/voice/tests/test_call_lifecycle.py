"""A call reported step by step becomes one timeline event that grows with the call."""

from __future__ import annotations

from typing import Any

import pytest

from loxodon.channels.voice.models import Call, CallStep
from loxodon.channels.voice.tests.deliveries import Pbx, ended, ivr, routed, started
from loxodon.core.testing import Api
from loxodon.customers.models import Customer, Identity
from loxodon.org.models import Department
from loxodon.timeline.models import Event

LIFECYCLE = (started, ivr, routed, ended)


def snapshot() -> dict[str, Any]:
    """Everything a delivery could change."""
    call = dict(Call.objects.values().get())
    call.pop("updated_at")
    return {
        "call": call,
        "steps": sorted(CallStep.objects.values_list("delivery_id", flat=True)),
        "events": list(Event.objects.values("id", "customer_id", "summary", "payload", "actor_id")),
        "customers": Customer.objects.count(),
        "identities": Identity.objects.count(),
    }


def call_events(api: Api, customer_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/customers/{customer_id}/timeline", kind="call")
    assert response.status_code == 200, response.content
    return [e for e in response.json()["items"] if e["kind"] == "call"]


def test_a_whole_call_is_one_event_on_the_customers_timeline(
    pbx: Pbx, api: Api, customer: dict[str, Any]
) -> None:
    # Given Jo calls from her known number: the event appears at call.started
    first = pbx.send(started())
    assert first.status_code == 201
    assert first.json()["call"]["customer_id"] == customer["id"]
    (event,) = call_events(api, customer["id"])
    assert event["summary"] == "Call from +44 1632 960001 · in progress"
    assert event["channel"] == "phone" and event["source"] == f"voice:{pbx.integration.key_id}"
    assert event["external_id"] == "c1"
    assert event["site"] == "lon"

    # When the IVR verifies her account, she is routed to Ann, and the call ends
    for step in (ivr, routed, ended):
        assert pbx.send(step()).status_code == 201

    # Then there is still one event, now telling the whole call
    (event,) = call_events(api, customer["id"])
    assert event["summary"] == (
        "Call from +44 1632 960001 · IVR verified AC100200 · routed to Ann Agent · 4 min 12 s"
    )
    assert event["actor"] == "ann"
    payload = event["payload"]
    assert payload["status"] == "ended"
    assert payload["caller_e164"] == "+441632960001"
    assert payload["caller_number"] == "+44 1632 960001"
    assert payload["dialled_line"] == "0800 123 456"
    # the IVR's answers, under the keys the desk's "what the customer already told us" reads
    assert payload["verified"] is True
    assert payload["account_number_entered"] == "AC100200"
    assert payload["menu_path"] == ["support", "drivers"]
    assert payload["intent"] == "driver for refurbished laptop"
    assert payload["routed_to"]["agent"] == "ann"
    assert payload["duration_seconds"] == 252 and payload["duration"] == "4 min 12 s"
    assert payload["recording_url"] == "https://recordings.example.com/c1.mp3"
    assert [s["type"] for s in payload["steps"]] == [
        "call.started",
        "ivr.completed",
        "call.routed",
        "call.ended",
    ]
    assert Event.objects.count() == 1


def test_every_step_replayed_three_times_yields_one_event_and_no_change(
    pbx: Pbx, customer: dict[str, Any]
) -> None:
    for step in LIFECYCLE:
        first = pbx.send(step())
        assert first.status_code == 201, first.content
        before = snapshot()
        for _ in range(3):
            again = pbx.send(step())
            assert again.status_code == 200, again.content
            assert again.json()["replayed"] is True
            assert again.json()["call"] == first.json()["call"]
            assert snapshot() == before
    # and replaying the whole call afterwards changes nothing either
    before = snapshot()
    for step in LIFECYCLE * 3:
        assert pbx.send(step()).status_code == 200
    assert snapshot() == before
    assert Event.objects.filter(kind="call").count() == 1
    assert CallStep.objects.count() == 4


def test_the_same_delivery_id_with_other_content_is_409(pbx: Pbx, customer: dict[str, Any]) -> None:
    assert pbx.send(routed()).status_code == 201
    before = snapshot()
    response = pbx.send(routed(agent="carl-or-anyone-else"))
    assert response.status_code == 409
    assert "already used for other content" in response.json()["detail"]
    other_call = pbx.send(started(call_id="c2") | {"id": "c1-routed"})
    assert other_call.status_code == 409
    assert snapshot() == before


def test_a_second_start_of_one_call_saying_something_else_is_409(
    pbx: Pbx, customer: dict[str, Any]
) -> None:
    assert pbx.send(started()).status_code == 201
    same = pbx.send(started() | {"id": "resent-with-new-id"})
    assert same.status_code == 200 and same.json()["replayed"] is True
    other = pbx.send(started(caller="+44 20 7946 0000") | {"id": "another"})
    assert other.status_code == 409
    assert "already has a call.started" in other.json()["detail"]
    assert CallStep.objects.count() == 1


@pytest.mark.parametrize(
    "order",
    [
        (ended, routed, ivr, started),
        (routed, started, ended, ivr),
        (ivr, ended, started, routed),
    ],
    ids=["reversed", "routed-first", "ivr-first"],
)
def test_out_of_order_delivery_ends_in_the_same_state(
    pbx: Pbx, api: Api, customer: dict[str, Any], order: tuple[Any, ...]
) -> None:
    for step in order:
        response = pbx.send(step())
        assert response.status_code == 201, response.content
    (event,) = call_events(api, customer["id"])
    assert event["summary"] == (
        "Call from +44 1632 960001 · IVR verified AC100200 · routed to Ann Agent · 4 min 12 s"
    )
    assert event["payload"]["status"] == "ended"
    assert [s["type"] for s in event["payload"]["steps"]] == [
        "call.started",
        "ivr.completed",
        "call.routed",
        "call.ended",
    ]
    assert Customer.objects.count() == 1


def test_an_ivr_verified_account_names_the_customer_calling_from_an_unknown_number(
    pbx: Pbx, api: Api, customer: dict[str, Any]
) -> None:
    # Given a number nobody has: nothing on any timeline yet (the IVR may still say who it is)
    response = pbx.send(started(caller="07700 900123"))
    assert response.status_code == 201
    assert response.json()["call"]["event_id"] is None
    assert not Event.objects.exists()
    # When the IVR verifies Jo's account
    response = pbx.send(ivr(account="ac-100200"))
    # Then the call is Jo's, and Loxodon learns the number (unverified) for next time
    assert response.json()["call"]["customer_id"] == customer["id"]
    (event,) = call_events(api, customer["id"])
    assert "IVR verified AC100200" in event["summary"]
    assert Customer.objects.count() == 1
    learnt = Identity.objects.get(kind="phone", value="+447700900123")
    assert str(learnt.customer_id) == customer["id"] and not learnt.verified
    # and the next call from that number is hers before any IVR
    nxt = pbx.send(started(call_id="c2", caller="07700 900123"))
    assert nxt.json()["call"]["customer_id"] == customer["id"]


def test_an_unverified_account_number_never_picks_the_customer(
    pbx: Pbx, customer: dict[str, Any]
) -> None:
    pbx.send(started(caller="07700 900123"))
    response = pbx.send(ivr(verified=False))
    assert response.json()["call"]["customer_id"] is None
    routed_response = pbx.send(routed())
    new_customer = routed_response.json()["call"]["customer_id"]
    assert new_customer not in (None, customer["id"])
    event = Event.objects.get()
    assert event.summary.startswith("Call from +44 7700 900123 · IVR not verified (AC100200)")


def test_a_verified_account_unknown_to_loxodon_is_noted_and_the_number_decides(
    pbx: Pbx, customer: dict[str, Any]
) -> None:
    pbx.send(started())
    call = pbx.send(ivr(account="AC999999")).json()["call"]
    assert call["customer_id"] == customer["id"]
    assert call["note"] == "The IVR verified account AC999999, unknown to Loxodon"
    assert Event.objects.get().payload["note"] == call["note"]


def test_an_unknown_number_without_ivr_becomes_a_new_unverified_customer_when_routed(
    pbx: Pbx, api: Api, customer: dict[str, Any]
) -> None:
    assert pbx.send(started(caller="+44 7700 900456")).json()["call"]["event_id"] is None
    response = pbx.send(routed())
    call = response.json()["call"]
    assert call["event_id"] is not None and call["customer_id"] != customer["id"]
    created = Customer.objects.get(pk=call["customer_id"])
    (identity,) = created.identities.all()
    assert (identity.kind, identity.value, identity.verified) == ("phone", "+447700900456", False)
    (event,) = call_events(api, call["customer_id"])
    assert event["summary"] == "Call from +44 7700 900456 · routed to Ann Agent · in progress"


def test_a_withheld_number_that_nobody_identifies_lands_on_an_unknown_caller(
    pbx: Pbx, customer: dict[str, Any]
) -> None:
    pbx.send(started(caller=None))
    call = pbx.send(ended()).json()["call"]
    assert Customer.objects.get(pk=call["customer_id"]).name == "Unknown caller (number withheld)"
    assert Event.objects.get().summary == "Call from withheld number · 4 min 12 s"


def test_a_verified_account_of_another_customer_is_recorded_not_moved(
    pbx: Pbx, api: Api, customer: dict[str, Any]
) -> None:
    other = api.post(
        "/customers", {"name": "Sam Other", "phone": "+44 20 7946 0555", "account_number": "AC9"}
    ).json()
    pbx.send(started(caller="+44 20 7946 0555"))  # Sam's number...
    call = pbx.send(ivr()).json()["call"]  # ...but the IVR verified Jo's account
    assert call["customer_id"] == other["id"]
    assert call["mismatch_customer_id"] == customer["id"]
    assert "belongs to another customer" in call["note"]
    (event,) = call_events(api, other["id"])
    assert "belongs to another customer" in event["payload"]["note"]
    assert call_events(api, customer["id"]) == []


def test_routing_to_an_unknown_agent_is_404_and_writes_nothing(
    pbx: Pbx, customer: dict[str, Any]
) -> None:
    assert pbx.send(started()).status_code == 201
    before = snapshot()
    response = pbx.send(routed(agent="nobody"))
    assert response.status_code == 404
    assert response.json()["detail"] == "no active staff user 'nobody'"
    assert snapshot() == before
    # a brand-new call routed to nobody leaves no call behind either
    assert pbx.send(routed(call_id="c9", agent="nobody")).status_code == 404
    assert not Call.objects.filter(call_id="c9").exists()
    assert pbx.send(routed(agent=None, department="no-such-dept")).status_code == 404


def test_routing_to_a_department_then_a_transfer_to_an_agent(
    pbx: Pbx, customer: dict[str, Any], departments: dict[str, Department]
) -> None:
    pbx.send(started())
    call = pbx.send(routed(agent=None, department="finance")).json()["call"]
    assert call["routed_to_department"] == "finance" and call["routed_to_agent"] is None
    transfer = routed() | {"id": "c1-transfer", "occurred_at": "2026-11-24T09:02:00Z"}
    call = pbx.send(transfer).json()["call"]
    assert call["routed_to_agent"] == "ann" and call["routed_to_department"] is None
    event = Event.objects.get()
    assert "routed to Ann Agent (1 transfer)" in event.summary
    assert [r.get("department") or r.get("agent") for r in event.payload["routings"]] == [
        "finance",
        "ann",
    ]
