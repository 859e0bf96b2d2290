"""Who may write what to the customer, one open question at a time, and access through the API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from loxodon.core.testing import Api
from loxodon.org.models import Department
from loxodon.org.services import create_api_token, create_staff
from loxodon.outbound.services import asks_to_close, record_customer_reply, send_due_messages


def messages_url(case: dict[str, Any]) -> str:
    return f"/cases/{case['id']}/messages"


@pytest.mark.parametrize("kind", ["reply", "question", "resolution_check"])
def test_department_staff_cannot_write_to_the_customer_directly(
    carl_api: Api, case: dict[str, Any], kind: str
) -> None:
    response = carl_api.post(messages_url(case), {"body": "Hello from hardware", "kind": kind})
    assert response.status_code == 403
    assert "only the case owner (Ann Agent)" in response.json()["detail"]
    assert "department update" in response.json()["detail"]


def test_department_staff_queue_updates_by_default(
    carl_api: Api, api: Api, case: dict[str, Any]
) -> None:
    response = carl_api.post(messages_url(case), {"body": "The port was replaced."})
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["department"]) == (
        "update",
        "support-hardware",
    )
    asked = carl_api.post(f"/cases/{case['id']}/questions", {"question": "Which adapter?"})
    assert asked.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        "Port replaced. Can I close it?",
        "All done - may we close your ticket now?",
        "Fixed, is it OK to close the case?",
        "Please confirm that it is now working so we can close this support request.",
        "We will mark it as resolved tomorrow.",
    ],
)
def test_updates_asking_to_close_are_refused(
    carl_api: Api, api: Api, case: dict[str, Any], body: str
) -> None:
    response = carl_api.post(messages_url(case), {"body": body})
    assert response.status_code == 400
    assert "the case owner confirms resolution with the customer" in response.json()["detail"]
    # the owner cannot smuggle it through an update either
    assert api.post(messages_url(case), {"body": body, "kind": "update"}).status_code == 400
    assert api.get(messages_url(case)).json() == []


def test_close_phrase_check_leaves_ordinary_updates_alone() -> None:
    assert not asks_to_close("The faulty port was closed up and the casing sealed.")
    assert not asks_to_close("We resolved the charging fault; a courier collects on Tuesday.")
    assert asks_to_close("Could we close the case?")


def test_a_case_needs_an_owner_before_anything_goes_out(api: Api, customer: dict[str, Any]) -> None:
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "No owner yet"}).json()
    response = api.post(messages_url(case), {"body": "Hello"})
    assert response.status_code == 409
    assert "assign an owner first" in response.json()["detail"]


def test_one_open_question_per_case(api: Api, case: dict[str, Any], smtp: Any) -> None:
    # Given an open question: the case waits on the customer
    first = api.post(f"/cases/{case['id']}/questions", {"question": "Which adapter do you use?"})
    assert first.status_code == 201
    assert first.json()["is_open_question"] is True
    assert api.get(f"/cases/{case['id']}").json()["status"] == "waiting_on_customer"

    # A second one, by either route, is 409 and names the open one
    for path, data in (
        (f"/cases/{case['id']}/questions", {"question": "And your serial number?"}),
        (messages_url(case), {"body": "And your serial number?", "kind": "question"}),
    ):
        second = api.post(path, data)
        assert second.status_code == 409
        assert "already an open question" in second.json()["detail"]
        assert second.json()["open_question_id"] == first.json()["id"]

    # Still open after it is sent; the customer's reply answers it (the inbound channel calls this)
    send_due_messages()
    assert api.get(f"/messages/{first.json()['id']}").json()["is_open_question"] is True
    record_customer_reply(uuid.UUID(case["id"]))
    record_customer_reply(uuid.UUID(case["id"]))  # idempotent
    answered = api.get(f"/messages/{first.json()['id']}").json()
    assert answered["is_open_question"] is False and answered["answered_at"]
    assert api.get(f"/cases/{case['id']}").json()["status"] == "waiting_on_us"

    # Then the next question may be asked; answering by hand works too
    third = api.post(f"/cases/{case['id']}/questions", {"question": "And your serial number?"})
    assert third.status_code == 201
    done = api.post(f"/cases/{case['id']}/questions/answered", {})
    assert done.status_code == 200 and done.json()["id"] == third.json()["id"]
    assert api.post(f"/cases/{case['id']}/questions/answered", {}).status_code == 409


def test_resolution_check_only_from_the_owner_once_a_resolution_is_proposed(
    api: Api, carl_api: Api, case: dict[str, Any]
) -> None:
    check = {"body": "Is the laptop charging again?", "kind": "resolution_check"}
    early = api.post(messages_url(case), check)
    assert early.status_code == 409 and "propose a resolution first" in early.json()["detail"]

    # When the departments finish their tasks the case moves to resolution_proposed
    for task in api.get(f"/cases/{case['id']}").json()["tasks"]:
        assert api.post(f"/tasks/{task['id']}/complete", {"note": "done"}).status_code == 200
    assert carl_api.post(messages_url(case), check).status_code == 403
    asked = api.post(messages_url(case), check)
    assert asked.status_code == 201 and asked.json()["is_open_question"] is True
    # it is the case's one open question
    assert api.post(f"/cases/{case['id']}/questions", {"question": "More?"}).status_code == 409

    # Reopened: "is it solved?" no longer stands, so a new question may be asked
    api.post(f"/cases/{case['id']}/reopen", {"reason": "still not charging"})
    assert (
        api.post(f"/cases/{case['id']}/questions", {"question": "Which cable?"}).status_code == 201
    )


def test_cancel_a_queued_message(
    api: Api, pat_api: Api, case: dict[str, Any], departments: dict[str, Department], smtp: Any
) -> None:
    reply = api.post(messages_url(case), {"body": "Draft"}).json()
    # someone else's message: only its author, the owner or a supervisor may cancel
    assert pat_api.post(f"/messages/{reply['id']}/cancel").status_code == 403
    cancelled = api.post(f"/messages/{reply['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/messages/{reply['id']}/cancel").status_code == 409
    assert send_due_messages().sent == 0 and smtp.envelopes == []

    # a supervisor may cancel a department's update
    create_staff(username="sue", role="supervisor", department=departments["parts"])
    update = pat_api.post(messages_url(case), {"body": "Part ordered."}).json()
    sue = Api(create_api_token(username="sue"))
    assert sue.post(f"/messages/{update['id']}/cancel").json()["status"] == "cancelled"

    # a sent message cannot be cancelled
    sent = api.post(messages_url(case), {"body": "Final"}).json()
    send_due_messages()
    assert api.post(f"/messages/{sent['id']}/cancel").status_code == 409


def test_bad_input_is_a_clear_4xx(api: Api, case: dict[str, Any]) -> None:
    for blank in ("", "   "):
        response = api.post(messages_url(case), {"body": blank})
        assert response.status_code == 422 and response.json()["detail"].startswith("body:")
    assert api.post(messages_url(case), {"body": "x", "kind": "digest"}).status_code == 422
    unknown = api.post(messages_url(case), {"body": "x", "status": "sent"})
    assert unknown.status_code == 422 and "unknown field" in unknown.json()["detail"]
    assert api.post(messages_url(case), {"body": "x" * 20_001}).status_code == 422


def test_access_control(api: Api, anonymous: Api, case: dict[str, Any]) -> None:
    message = api.post(messages_url(case), {"body": "Hello"}).json()
    for response in (
        anonymous.get(messages_url(case)),
        anonymous.post(messages_url(case), {"body": "Hi"}),
        anonymous.post(f"/cases/{case['id']}/questions", {"question": "Hi?"}),
        anonymous.get(f"/messages/{message['id']}"),
        anonymous.post(f"/messages/{message['id']}/cancel"),
    ):
        assert response.status_code == 401
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.get(f"/cases/{missing}/messages").status_code == 404
    assert api.post(f"/cases/{missing}/messages", {"body": "Hi"}).status_code == 404
    assert api.get("/messages/not-an-id").status_code == 404
    assert api.post(f"/messages/{missing}/cancel").status_code == 404
    assert [m["id"] for m in api.get(messages_url(case)).json()] == [message["id"]]
