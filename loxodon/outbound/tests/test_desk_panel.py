"""The case page's "Message to the customer" panel, through HTTP like an agent's browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from loxodon.core.testing import Api, signed_in
from loxodon.org.models import User
from loxodon.outbound.services import send_due_messages
from loxodon.outbound.tests.conftest import Mailbox


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def owner_desk(agent: User) -> Client:
    return signed_in(agent)


@pytest.fixture
def carl_desk(colleague: User) -> Client:
    return signed_in(colleague)


def compose_url(case: dict[str, Any]) -> str:
    return f"/desk/messages/cases/{case['id']}/compose"


def test_owner_sees_the_panel_and_posting_the_form_queues_a_message(
    owner_desk: Client, api: Api, case: dict[str, Any]
) -> None:
    page = text(owner_desk.get(f"/desk/cases/{case['id']}/"))
    assert "Message to the customer" in page
    assert 'data-action="compose-message"' in page
    assert 'value="reply"' in page and 'value="question"' in page
    assert 'value="update"' not in page and 'value="resolution_check"' not in page
    assert "Nothing written to the customer on this case yet." in page

    response = owner_desk.post(compose_url(case), {"kind": "reply", "body": "Hello Jo"})

    assert response.status_code == 302 and response["Location"] == f"/desk/cases/{case['id']}/"
    page = text(owner_desk.get(response["Location"]))
    assert "Message queued" in page and "Hello Jo" in page and "Queued until" in page
    [message] = api.get(f"/cases/{case['id']}/messages").json()
    assert (message["kind"], message["status"], message["author"]) == ("reply", "queued", "ann")


def test_htmx_post_answers_with_the_refreshed_panel(
    owner_desk: Client, case: dict[str, Any]
) -> None:
    response = owner_desk.post(
        compose_url(case), {"kind": "question", "body": "Which adapter?"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    panel = text(response)
    assert panel.startswith('<section class="card mb-3" id="outbound-panel"')
    assert "Message queued" in panel and "Open question" in panel and "Which adapter?" in panel
    again = owner_desk.post(
        compose_url(case), {"kind": "question", "body": "Serial?"}, HTTP_HX_REQUEST="true"
    )
    assert "Not done: there is already an open question" in text(again)
    answered = re.search(r'action="(/desk/messages/[^"]+/answered)"', panel)
    assert answered is not None
    done = owner_desk.post(answered[1], HTTP_HX_REQUEST="true")
    assert "Recorded: the customer answered." in text(done)
    assert "Open question" not in text(done)


def test_department_colleague_can_only_queue_an_update_for_the_digest(
    carl_desk: Client, api: Api, case: dict[str, Any]
) -> None:
    page = text(carl_desk.get(f"/desk/cases/{case['id']}/"))
    assert "You are writing a department update" in page
    assert "in one digest with the other departments' updates after 120 minutes" in page
    assert '<input type="hidden" name="kind" value="update">' in page

    refused = carl_desk.post(compose_url(case), {"kind": "reply", "body": "Hi"}, follow=True)
    assert "Not done: kind: Select a valid choice" in text(refused)
    closing = carl_desk.post(
        compose_url(case), {"kind": "update", "body": "Fixed. Can I close it?"}, follow=True
    )
    assert "the case owner confirms resolution with the customer" in text(closing)
    queued = carl_desk.post(compose_url(case), {"kind": "update", "body": "Port replaced."})
    assert queued.status_code == 302
    [update] = api.get(f"/cases/{case['id']}/messages").json()
    assert (update["kind"], update["author"]) == ("update", "carl")
    page = text(carl_desk.get(f"/desk/cases/{case['id']}/"))
    assert "goes out in the owner's next message or digest" in page


def test_a_failed_message_shows_its_reason_and_can_be_sent_again(
    owner_desk: Client, api: Api, smtp: Mailbox
) -> None:
    customer = api.post("/customers", {"name": "No Mail", "phone": "01632 960003"}).json()
    case = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "Printer jams", "owner": "ann"}
    ).json()
    owner_desk.post(compose_url(case), {"kind": "reply", "body": "We have a fix."})
    send_due_messages()

    page = text(owner_desk.get(f"/desk/cases/{case['id']}/"))
    assert "1 message to the customer could not be sent" in page
    assert "Not sent: the customer has no email address" in page
    assert "Message to the customer not sent" in page  # the note on the case's stream

    retry = re.search(r'action="(/desk/messages/[^"]+/retry)"', page)
    assert retry is not None
    owner_desk.post(retry[1])
    [message] = api.get(f"/cases/{case['id']}/messages").json()
    assert message["status"] == "queued"


def test_cancel_a_queued_message_from_the_desk(
    owner_desk: Client, api: Api, case: dict[str, Any]
) -> None:
    owner_desk.post(compose_url(case), {"kind": "reply", "body": "Oops, draft"})
    page = owner_desk.get(f"/desk/cases/{case['id']}/").content.decode()
    cancel = re.search(r'action="(/desk/messages/[^"]+/cancel)"', page)
    assert cancel is not None
    after = owner_desk.post(cancel[1], follow=True)
    assert "Message cancelled." in text(after)
    assert api.get(f"/cases/{case['id']}/messages").json()[0]["status"] == "cancelled"
    again = owner_desk.post(cancel[1], follow=True)
    assert "Not done: only a queued message can be cancelled" in text(again)


def test_panel_endpoints_need_sign_in_and_known_objects(
    owner_desk: Client, case: dict[str, Any]
) -> None:
    anonymous = Client()
    assert anonymous.get(f"/desk/messages/cases/{case['id']}/").status_code == 302
    assert anonymous.post(compose_url(case), {"kind": "reply", "body": "x"}).status_code == 302
    missing = "00000000-0000-0000-0000-000000000000"
    assert owner_desk.post(f"/desk/messages/{missing}/cancel").status_code == 404
    assert owner_desk.get(f"/desk/messages/cases/{missing}/").status_code == 404
    assert owner_desk.get(compose_url(case)).status_code == 405
    assert owner_desk.get(f"/desk/messages/cases/{case['id']}/").status_code == 200


def test_a_case_without_owner_offers_no_compose_form(
    owner_desk: Client, api: Api, customer: dict[str, Any]
) -> None:
    case = api.post("/cases", {"customer_id": customer["id"], "problem": "Unowned"}).json()
    page = text(owner_desk.get(f"/desk/cases/{case['id']}/"))
    assert (
        "Assign an owner first: every message to the customer goes out from the case owner." in page
    )
    assert 'data-action="compose-message"' not in page
    refused = owner_desk.post(compose_url(case), {"kind": "reply", "body": "Hi"}, follow=True)
    assert "Not done: kind: Select a valid choice" in text(refused)
