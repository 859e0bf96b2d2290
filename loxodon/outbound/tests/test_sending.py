"""Outbound email through a real SMTP server: one voice from the owner, digests, retries,
failures and sent-at-most-once. Time moves by passing `now=` to the worker's job (no sleeps)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from loxodon.channels.email import tokens
from loxodon.core.testing import Api
from loxodon.outbound.models import OutboundMessage
from loxodon.outbound.services import SendReport, send_due_messages
from loxodon.outbound.tests.conftest import Mailbox
from loxodon.timeline.models import Event


def later(seconds: int) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def text_of(mail: Any) -> str:
    return str(mail.get_content()).replace("\r\n", "\n")


def messages_url(case: dict[str, Any]) -> str:
    return f"/cases/{case['id']}/messages"


def test_owner_reply_round_trip_over_smtp(api: Api, case: dict[str, Any], smtp: Mailbox) -> None:
    # Given the owner's reply queued on the case
    queued = api.post(messages_url(case), {"body": "Hi Jo, a new charger is on its way."})
    assert queued.status_code == 201, queued.content
    message = queued.json()
    assert (message["kind"], message["status"], message["author"]) == ("reply", "queued", "ann")

    # When the worker runs
    report = send_due_messages()

    # Then one email arrived at the customer, from the owner's name, threaded by our tokens
    assert report.sent == 1
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["jo.bloggs@example.com"]
    assert envelope.mail_from == "support@loxodon.test"
    [mail] = smtp.messages
    assert parseaddr(mail["From"]) == ("Ann Agent via Loxodon", "support@loxodon.test")
    assert tokens.case_from_addresses([mail["Reply-To"]]) == uuid.UUID(case["id"])
    assert tokens.is_our_message_id(mail["Message-ID"].strip())
    assert tokens.case_from_references([mail["Message-ID"].strip()]) == uuid.UUID(case["id"])
    assert mail["Subject"].startswith("Laptop will not charge [case ")
    assert "a new charger is on its way." in text_of(mail)
    assert "Ann Agent" in text_of(mail)  # signed by the owner
    sent = api.get(f"/messages/{message['id']}").json()
    assert sent["status"] == "sent"
    assert sent["message_id"] == mail["Message-ID"].strip()
    assert sent["to_address"] == "jo.bloggs@example.com"


def test_reply_threads_onto_the_customers_latest_email(
    api: Api, case: dict[str, Any], customer: dict[str, Any], smtp: Mailbox
) -> None:
    # Given the customer's email on the case (as the inbound channel records it)
    theirs = "<CAF123@mail.example.com>"
    event = {
        "source": "mail",
        "external_id": "in-1",
        "channel": "email",
        "kind": "message",
        "occurred_at": timezone.now().isoformat(),
        "summary": "Still not charging",
        "customer_id": customer["id"],
        "case_id": case["id"],
        "payload": {"direction": "inbound", "message_id": theirs},
    }
    assert api.post("/events", event).status_code == 201
    api.post(messages_url(case), {"body": "Thanks, looking into it."})

    send_due_messages()

    [mail] = smtp.messages
    assert mail["In-Reply-To"] == theirs
    assert theirs in mail["References"]


def test_department_updates_in_one_window_go_out_as_one_message_from_the_owner(
    api: Api, carl_api: Api, pat_api: Api, case: dict[str, Any], smtp: Mailbox
) -> None:
    # Given three department updates inside the digest window
    bodies = [
        (carl_api, "The charging port was replaced."),
        (pat_api, "A new battery is ordered and arrives on Tuesday."),
        (carl_api, "Firmware updated to 1.4."),
    ]
    updates = []
    for client, body in bodies:
        response = client.post(messages_url(case), {"body": body})
        assert response.status_code == 201, response.content
        updates.append(response.json())
    assert {u["kind"] for u in updates} == {"update"}
    assert len({u["send_after"] for u in updates}) == 1  # one window, opened by the first

    # While the window is open nothing goes out
    assert send_due_messages().sent == 0
    assert send_due_messages(now=later(7000)).sent == 0
    assert smtp.envelopes == []

    # When the window has passed: exactly one email, from the owner, with all three
    report = send_due_messages(now=later(7201))
    assert (report.sent, report.folded) == (1, 3)
    [mail] = smtp.messages
    assert parseaddr(mail["From"])[0] == "Ann Agent via Loxodon"
    text = text_of(mail)
    assert "Here is where things stand:" in text
    assert "Technical support (hardware): The charging port was replaced." in text
    assert "Parts: A new battery is ordered and arrives on Tuesday." in text
    assert "Technical support (hardware): Firmware updated to 1.4." in text

    # The outbox shows the updates folded into the sent digest
    listing = api.get(messages_url(case)).json()
    [digest] = [m for m in listing if m["kind"] == "digest"]
    assert (digest["status"], digest["author"]) == ("sent", "ann")
    folded = [m for m in listing if m["kind"] == "update"]
    assert {(m["status"], m["digest_id"]) for m in folded} == {("folded", digest["id"])}
    # ...and the timeline event names what was consolidated
    event = Event.objects.get(pk=digest["event_id"])
    assert set(event.payload["consolidated_update_ids"]) == {u["id"] for u in updates}
    assert event.payload["departments"] == ["parts", "support-hardware"]

    # A later run sends nothing more
    assert send_due_messages(now=later(20_000)).sent == 0
    assert len(smtp.envelopes) == 1


def test_owner_message_carries_pending_department_updates(
    api: Api, carl_api: Api, case: dict[str, Any], smtp: Mailbox
) -> None:
    update = carl_api.post(messages_url(case), {"body": "The charging port was replaced."}).json()
    reply = api.post(messages_url(case), {"body": "Good news, Jo."}).json()

    assert send_due_messages().sent == 1  # no waiting for the window: one message, one voice

    [mail] = smtp.messages
    text = text_of(mail)
    assert text.index("Good news, Jo.") < text.index("Here is where things stand:")
    assert "Technical support (hardware): The charging port was replaced." in text
    folded = api.get(f"/messages/{update['id']}").json()
    assert (folded["status"], folded["digest_id"]) == ("folded", reply["id"])


def test_every_sent_message_is_one_event_on_the_customers_timeline(
    api: Api, case: dict[str, Any], customer: dict[str, Any], smtp: Mailbox
) -> None:
    api.post(messages_url(case), {"body": "A new charger is on its way."})
    api.post(f"/cases/{case['id']}/questions", {"question": "Which adapter do you use?"})

    send_due_messages()
    send_due_messages(now=later(60))

    page = api.get(f"/customers/{customer['id']}/timeline", kind="message").json()
    events = [e for e in page["items"] if e["payload"].get("direction") == "outbound"]
    assert len(events) == len(smtp.envelopes) == 2
    by_id = {e["payload"]["message_id"]: e for e in events}
    for mail in smtp.messages:
        event = by_id[mail["Message-ID"].strip()]
        assert (event["channel"], event["actor"], event["case_id"]) == ("email", "ann", case["id"])
        assert event["internal"] is False
        assert event["body"].strip() == text_of(mail).strip()  # exactly what was sent
        assert event["payload"]["to"] == "jo.bloggs@example.com"


def test_customer_without_email_fails_with_a_reason_and_nothing_is_lost(
    api: Api, smtp: Mailbox
) -> None:
    customer = api.post("/customers", {"name": "Nomail Person", "phone": "01632 960002"}).json()
    case = api.post(
        "/cases", {"customer_id": customer["id"], "problem": "Printer jams", "owner": "ann"}
    ).json()
    message = api.post(messages_url(case), {"body": "We have a fix for you."}).json()

    report = send_due_messages()

    assert report.failed == 1 and smtp.envelopes == []
    failed = api.get(f"/messages/{message['id']}").json()
    assert failed["status"] == "failed"
    assert "no email address" in failed["error"]
    assert failed["body"] == "We have a fix for you."
    # The owner is told on the case's stream (staff only)
    note = Event.objects.get(case_id=case["id"], kind="message_not_sent")
    assert note.internal and "not sent" in note.summary and "no email address" in note.summary

    # Once the customer has an address, the owner sends it again
    added = api.post(
        f"/customers/{customer['id']}/identities", {"kind": "email", "value": "np@example.com"}
    )
    assert added.status_code == 201, added.content
    assert api.post(f"/messages/{message['id']}/retry").json()["status"] == "queued"
    assert send_due_messages().sent == 1
    assert smtp.envelopes[0].rcpt_tos == ["np@example.com"]


def test_temporary_smtp_errors_are_retried_with_backoff(
    api: Api, case: dict[str, Any], smtp: Mailbox
) -> None:
    smtp.refuse = ["451 4.3.0 Try again later"]
    message = api.post(messages_url(case), {"body": "Hello again."}).json()

    assert send_due_messages().retrying == 1
    waiting = api.get(f"/messages/{message['id']}").json()
    assert (waiting["status"], waiting["attempts"]) == ("queued", 1)
    assert "451" in waiting["error"]
    assert send_due_messages().sent == 0  # backing off: not due yet

    assert send_due_messages(now=later(61)).sent == 1
    assert len(smtp.envelopes) == 1
    assert api.get(f"/messages/{message['id']}").json()["status"] == "sent"


def test_smtp_errors_fail_after_the_last_retry_and_permanent_ones_at_once(
    api: Api, case: dict[str, Any], smtp: Mailbox
) -> None:
    smtp.refuse = ["451 4.3.0 Busy"] * 5
    flaky = api.post(messages_url(case), {"body": "First."}).json()
    for hours in range(1, 6):
        send_due_messages(now=later(hours * 3 * 3600))
    gave_up = api.get(f"/messages/{flaky['id']}").json()
    assert (gave_up["status"], gave_up["attempts"]) == ("failed", 5)
    assert "gave up after 5 attempts" in gave_up["error"]

    smtp.refuse = ["550 5.1.1 Mailbox unavailable"]
    refused = api.post(messages_url(case), {"body": "Second."}).json()
    assert send_due_messages().failed == 1
    failed = api.get(f"/messages/{refused['id']}").json()
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "550" in failed["error"]
    assert smtp.envelopes == []


def test_a_message_is_sent_at_most_once(api: Api, case: dict[str, Any], smtp: Mailbox) -> None:
    first = api.post(messages_url(case), {"body": "Once only."}).json()
    for _ in range(3):
        send_due_messages(now=later(99_999))
    assert len(smtp.envelopes) == 1

    # A message another worker has claimed (mid-send) is not sent again...
    second = api.post(messages_url(case), {"body": "Claimed elsewhere."}).json()
    OutboundMessage.objects.filter(pk=second["id"]).update(
        status="sending", claimed_at=timezone.now()
    )
    assert send_due_messages().sent == 0
    # ...and if that worker died, it fails as "delivery unknown" rather than going out twice
    assert send_due_messages(now=later(16 * 60)).failed == 1
    stale = api.get(f"/messages/{second['id']}").json()
    assert stale["status"] == "failed" and "delivery unknown" in stale["error"]
    assert len(smtp.envelopes) == 1
    assert api.get(f"/messages/{first['id']}").json()["status"] == "sent"


@pytest.mark.django_db(transaction=True)
def test_db_worker_sends_what_is_due_and_defers_the_digest(
    api: Api, carl_api: Api, case: dict[str, Any], smtp: Mailbox
) -> None:
    # Given a reply (due now) and a department update (due when the window passes), committed
    reply = api.post(messages_url(case), {"body": "On it."}).json()
    update = carl_api.post(messages_url(case), {"body": "Port replaced."}).json()
    # enqueue-on-commit: one job now, one deferred to the end of the window
    jobs = list(DBTaskResult.objects.order_by("run_after"))
    assert [j.task_path for j in jobs] == ["loxodon.outbound.tasks.deliver_due_messages"] * 2
    window_end = OutboundMessage.objects.get(pk=update["id"]).send_after
    assert abs(jobs[0].run_after - window_end) < timedelta(seconds=1)

    # When the real worker runs one batch
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    # Then the reply went out (carrying the update: one voice), the deferred job still waits
    assert len(smtp.envelopes) == 1
    assert api.get(f"/messages/{reply['id']}").json()["status"] == "sent"
    assert api.get(f"/messages/{update['id']}").json()["status"] == "folded"
    assert DBTaskResult.objects.filter(status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_message_once(
    api: Api, case: dict[str, Any], smtp: Mailbox
) -> None:
    for i in range(5):
        api.post(messages_url(case), {"body": f"Message {i}"})
    start = threading.Barrier(2)
    reports: list[SendReport] = []

    def worker() -> None:
        start.wait()
        try:
            reports.append(send_due_messages())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(r.sent for r in reports) == 5
    assert sorted(text_of(m).splitlines()[0] for m in smtp.messages) == [
        f"Message {i}" for i in range(5)
    ]
