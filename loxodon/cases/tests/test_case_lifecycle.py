"""The status machine: the customer owns the problem, and the server enforces it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from loxodon.cases.models import Case, CaseStatus
from loxodon.core.testing import Api
from loxodon.org.models import User
from loxodon.timeline.models import Event


def open_case(api: Api, customer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"customer_id": customer["id"], "problem": "My laptop will not power on", **extra}
    response = api.post("/cases", body)
    assert response.status_code == 201, response.json()
    return dict(response.json())


def case_events(case_id: str) -> list[Event]:
    return list(Event.objects.filter(case_id=case_id).order_by("recorded_at", "id"))


def test_a_case_without_owner_is_new_and_gets_one_owner(
    api: Api, customer: dict[str, Any], agent: User
) -> None:
    case = open_case(api, customer)
    assert case["status"] == "new" and case["owner"] is None
    assert case["site"] == "lon"  # the opening agent's site
    assigned = api.post(f"/cases/{case['id']}/assign", {"owner": "ann"}).json()
    assert assigned["status"] == "open" and assigned["owner"] == "ann"
    # A second assignment is refused: changing owner is a handoff with context
    again = api.post(f"/cases/{case['id']}/assign", {"owner": "ann"})
    assert again.status_code == 409 and "hand it off" in again.json()["detail"]


def test_completing_every_task_proposes_resolution_but_never_resolves(
    api: Api, customer: dict[str, Any], colleague: User
) -> None:
    case = open_case(api, customer, owner="ann")
    tasks = [
        api.post(f"/cases/{case['id']}/tasks", {"department": d, "title": t}).json()
        for d, t in (("parts", "Ship battery"), ("warranty", "Approve part"))
    ]
    first = api.post(f"/tasks/{tasks[0]['id']}/complete", {"note": "Battery shipped"})
    assert first.status_code == 200 and first.json()["status"] == "done"
    assert api.get(f"/cases/{case['id']}").json()["status"] == "open"
    api.post(f"/tasks/{tasks[1]['id']}/complete", {"note": "Approved"})
    after = api.get(f"/cases/{case['id']}").json()
    assert after["status"] == "resolution_proposed"
    assert "Parts: Ship battery" in after["resolution_summary"]
    assert after["resolved_at"] is None
    assert "confirm" in after["allowed_actions"]
    # Completing a task twice is refused
    again = api.post(f"/tasks/{tasks[0]['id']}/complete", {"note": "again"})
    assert again.status_code == 409 and "already done" in again.json()["detail"]


def test_only_the_customers_confirmation_resolves(api: Api, customer: dict[str, Any]) -> None:
    case = open_case(api, customer, owner="ann")
    premature = api.post(f"/cases/{case['id']}/confirm", {"via": "phone"})
    assert premature.status_code == 409
    assert premature.json()["detail"] == "cannot confirm a case that is open"
    assert "confirm" not in premature.json()["allowed_actions"]

    api.post(f"/cases/{case['id']}/propose-resolution", {"summary": "Replaced the PSU"})
    call = api.post(
        "/events",
        {
            "source": "cti",
            "external_id": "call-9",
            "channel": "phone",
            "kind": "call",
            "occurred_at": "2026-11-21T09:00:00+00:00",
            "summary": "Customer says it works",
            "customer_id": customer["id"],
        },
    ).json()
    confirmed = api.post(f"/cases/{case['id']}/confirm", {"via": "phone", "event_id": call["id"]})
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "resolved_confirmed" and body["resolved_at"]
    confirmation = Event.objects.get(case_id=case["id"], kind="confirmation")
    assert confirmation.channel == "phone"
    assert confirmation.payload["contact_event_id"] == call["id"]
    assert Case.objects.get(pk=case["id"]).confirmation_event_id == confirmation.pk


def test_confirmation_must_link_a_contact_of_this_customer(
    api: Api, customer: dict[str, Any]
) -> None:
    other = api.post("/customers", {"name": "Other", "email": "o@example.com"}).json()
    foreign = api.post(
        "/events",
        {
            "source": "t",
            "external_id": "f1",
            "channel": "email",
            "kind": "message",
            "occurred_at": "2026-11-21T09:00:00+00:00",
            "summary": "Hi",
            "customer_id": other["id"],
        },
    ).json()
    case = open_case(api, customer, owner="ann")
    api.post(f"/cases/{case['id']}/propose-resolution", {"summary": "Fixed"})
    response = api.post(f"/cases/{case['id']}/confirm", {"via": "email", "event_id": foreign["id"]})
    assert response.status_code == 404
    assert api.get(f"/cases/{case['id']}").json()["status"] == "resolution_proposed"


def test_propose_is_refused_while_tasks_are_open(api: Api, customer: dict[str, Any]) -> None:
    case = open_case(api, customer, owner="ann")
    api.post(f"/cases/{case['id']}/tasks", {"department": "parts", "title": "Ship battery"})
    response = api.post(f"/cases/{case['id']}/propose-resolution", {"summary": "Done?"})
    assert response.status_code == 409
    assert response.json()["open_tasks"] == ["Ship battery"]


def test_reopen_keeps_the_history(api: Api, customer: dict[str, Any]) -> None:
    case = open_case(api, customer, owner="ann")
    api.post(f"/cases/{case['id']}/propose-resolution", {"summary": "Fixed"})
    api.post(f"/cases/{case['id']}/confirm", {"via": "email"})
    before = len(case_events(case["id"]))
    reopened = api.post(f"/cases/{case['id']}/reopen", {"reason": "It died again"}).json()
    assert reopened["status"] == "open" and reopened["reopen_count"] == 1
    assert reopened["resolved_at"] is None
    history = case_events(case["id"])
    assert len(history) == before + 1
    assert history[-1].payload == {
        "case_id": case["id"],
        "from": "resolved_confirmed",
        "to": "open",
    }
    assert history[-1].body == "It died again"
    assert [e.kind for e in history].count("confirmation") == 1
    assert api.post(f"/cases/{case['id']}/reopen", {"reason": "x"}).status_code == 409


def test_closing_unconfirmed_is_explicit_and_reasoned(api: Api, customer: dict[str, Any]) -> None:
    case = open_case(api, customer, owner="ann")
    assert api.post(f"/cases/{case['id']}/close-unconfirmed", {"reason": ""}).status_code == 422
    assert api.post(f"/cases/{case['id']}/close-unconfirmed", {}).status_code == 422
    blank = api.post(f"/cases/{case['id']}/close-unconfirmed", {"reason": "   "})
    assert blank.status_code == 422 and blank.json()["detail"].startswith("reason:")
    closed = api.post(
        f"/cases/{case['id']}/close-unconfirmed", {"reason": "No reply after three attempts"}
    ).json()
    assert closed["status"] == "closed_unconfirmed"
    assert closed["closed_reason"] == "No reply after three attempts"
    assert closed["allowed_actions"] == ["note", "reopen"]


def test_handoff_requires_context_and_moves_ownership(
    api: Api, customer: dict[str, Any], colleague: User
) -> None:
    case = open_case(api, customer, owner="ann")
    for context in ("", "   "):
        response = api.post(f"/cases/{case['id']}/handoffs", {"to": "carl", "context": context})
        assert response.status_code in (400, 422)
        assert "context" in response.json()["detail"]
    assert api.get(f"/cases/{case['id']}").json()["owner"] == "ann"
    context = "Wants a working laptop by Friday; PSU replaced; battery next"
    handoff = api.post(f"/cases/{case['id']}/handoffs", {"to": "carl", "context": context})
    assert handoff.status_code == 201
    detail = api.get(f"/cases/{case['id']}").json()
    assert detail["owner"] == "carl"
    assert detail["handoffs"][0] == {**handoff.json(), "from_user": "ann", "to_user": "carl"}
    assert detail["handoffs"][0]["context"] == context
    same = api.post(f"/cases/{case['id']}/handoffs", {"to": "carl", "context": "again"})
    assert same.status_code == 409
    unknown = api.post(f"/cases/{case['id']}/handoffs", {"to": "ghost", "context": "x"})
    assert unknown.status_code == 404


def test_waiting_states(api: Api, customer: dict[str, Any]) -> None:
    case = open_case(api, customer, owner="ann")
    url = f"/cases/{case['id']}/waiting"
    assert api.post(url, {"on": "customer"}).json()["status"] == "waiting_on_customer"
    assert api.post(url, {"on": "us"}).json()["status"] == "waiting_on_us"
    assert api.post(url, {"on": "none"}).json()["status"] == "open"
    assert api.post(url, {"on": "martians"}).status_code == 422


def test_adding_a_task_withdraws_a_proposed_resolution(api: Api, customer: dict[str, Any]) -> None:
    case = open_case(api, customer, owner="ann")
    api.post(f"/cases/{case['id']}/propose-resolution", {"summary": "Fixed"})
    api.post(f"/cases/{case['id']}/tasks", {"department": "parts", "title": "One more part"})
    assert api.get(f"/cases/{case['id']}").json()["status"] == "open"


@pytest.mark.parametrize(
    ("setup", "action", "body"),
    [
        ([], "confirm", {"via": "phone"}),
        ([], "reopen", {"reason": "x"}),
        (["propose"], "propose-resolution", {"summary": "again"}),
        (["close"], "close-unconfirmed", {"reason": "again"}),
        (["close"], "tasks", {"department": "parts", "title": "late"}),
        (["close"], "handoffs", {"to": "ann", "context": "x"}),
        (["close"], "confirm", {"via": "phone"}),
        (["close"], "propose-resolution", {"summary": "x"}),
        (["propose", "confirm"], "close-unconfirmed", {"reason": "x"}),
        (["propose", "confirm"], "waiting", {"on": "customer"}),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    api: Api, customer: dict[str, Any], setup: list[str], action: str, body: dict[str, Any]
) -> None:
    case = open_case(api, customer, owner="ann")
    steps = {
        "propose": ("propose-resolution", {"summary": "Fixed"}),
        "confirm": ("confirm", {"via": "email"}),
        "close": ("close-unconfirmed", {"reason": "Gone quiet"}),
    }
    for step in setup:
        path, data = steps[step]
        assert api.post(f"/cases/{case['id']}/{path}", data).status_code == 200
    before = api.get(f"/cases/{case['id']}").json()
    events_before = Event.objects.filter(case_id=case["id"]).count()
    response = api.post(f"/cases/{case['id']}/{action}", body)
    assert response.status_code == 409, response.json()
    assert response.json()["detail"].startswith("cannot ")
    assert api.get(f"/cases/{case['id']}").json() == before
    assert Event.objects.filter(case_id=case["id"]).count() == events_before


def test_every_state_change_writes_a_timeline_event(
    api: Api, customer: dict[str, Any], colleague: User
) -> None:
    case = open_case(api, customer)
    cid = case["id"]
    api.post(f"/cases/{cid}/assign", {"owner": "ann"})
    task = api.post(f"/cases/{cid}/tasks", {"department": "parts", "title": "Battery"}).json()
    api.post(f"/cases/{cid}/notes", {"body": "Customer prefers email"})
    api.post(f"/cases/{cid}/handoffs", {"to": "carl", "context": "Battery on its way"})
    api.post(f"/tasks/{task['id']}/complete", {"note": "Fitted"})
    api.post(f"/cases/{cid}/confirm", {"via": "email"})
    kinds = [e.kind for e in case_events(cid)]
    assert kinds == [
        "case_opened",
        "status_change",  # owner: Ann
        "status_change",  # new -> open
        "task_added",
        "note",
        "handoff",
        "task_completed",
        "status_change",  # open -> resolution_proposed
        "confirmation",
        "status_change",  # resolution_proposed -> resolved_confirmed
    ]
    events = case_events(cid)
    assert all(e.actor is not None and e.actor.username == "ann" for e in events)
    assert {e.internal for e in events if e.kind in ("note", "handoff")} == {True}
    assert Case.objects.get(pk=cid).version == 7


def test_internal_notes_are_shared_by_every_department(
    api: Api, customer: dict[str, Any], colleague: User
) -> None:
    from loxodon.org.services import create_api_token

    carl = Api(create_api_token(username="carl"))
    case = open_case(api, customer, owner="ann")
    api.post(f"/cases/{case['id']}/notes", {"body": "Sales: customer needs it for Monday"})
    carl.post(f"/cases/{case['id']}/notes", {"body": "Hardware: PSU is faulty"})
    notes = api.get(f"/customers/{customer['id']}/timeline", kind="note").json()["items"]
    assert [(n["actor"], n["body"]) for n in notes] == [
        ("carl", "Hardware: PSU is faulty"),
        ("ann", "Sales: customer needs it for Monday"),
    ]
    assert all(n["internal"] for n in notes)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"problem": "x", "customer_id": "00000000-0000-0000-0000-000000000000"}, 404, "customer"),
        ({"problem": ""}, 422, "problem"),
        ({"problem": "x", "owner": "ghost"}, 404, "ghost"),
        ({"problem": "x", "priority": "whenever"}, 422, "priority"),
        ({"problem": "x", "status": "resolved_confirmed"}, 422, "unknown field"),
        ({"problem": "x", "site": "atlantis"}, 404, "atlantis"),
    ],
)
def test_bad_case_input_is_refused_and_nothing_written(
    api: Api, customer: dict[str, Any], body: dict[str, Any], status: int, message: str
) -> None:
    response = api.post("/cases", {"customer_id": customer["id"], **body})
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert Case.objects.count() == 0


def test_unknown_case_and_task_ids_are_404(api: Api) -> None:
    assert api.get("/cases/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.post("/cases/nope/notes", {"body": "x"}).status_code == 404
    assert api.post("/tasks/nope/complete", {"note": "x"}).status_code == 404


@pytest.mark.django_db
def test_database_refuses_an_ownerless_case_past_new(customer: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(customer_id=customer["id"], problem="x", status=CaseStatus.OPEN)


@pytest.mark.parametrize(
    ("extra", "queries"), [({}, 7), ({"owner": "ann", "priority": "high", "site": "lon"}, 8)]
)
def test_opening_answers_the_case_as_reading_it_would_in_few_queries(
    api: Api, customer: dict[str, Any], agent: User, django_assert_max_num_queries: Any,
    extra: dict[str, Any], queries: int,
) -> None:  # fmt: skip
    """The 201 is built from the case just written (no re-read: bench/peers found the re-read
    was a third of a creation); it must still say exactly what GET /cases/{id} says."""
    with django_assert_max_num_queries(queries):
        opened = open_case(api, customer, **extra)
    assert opened == api.get(f"/cases/{opened['id']}").json()
    missing = api.post("/cases", {"customer_id": "0" * 32, "problem": "x"})
    assert missing.status_code == 404 and "no customer with id" in missing.json()["detail"]
