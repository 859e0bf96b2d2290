"""One voice, both ways: the customer's emailed reply on their case answers the open question,
and our next message threads onto it."""

from __future__ import annotations

from loxodon.cases.models import Case, CaseStatus
from loxodon.channels.email.tests.conftest import JO, deliver, event_of
from loxodon.channels.email.tests.helpers import render
from loxodon.org.models import User
from loxodon.outbound.services import ask_customer


def test_the_customers_reply_answers_the_open_question(jo_case: Case, agent: User) -> None:
    question = ask_customer(case=jo_case, author=agent, question="Which model is it exactly?")
    jo_case.refresh_from_db()
    assert jo_case.status == CaseStatus.WAITING_ON_CUSTOMER

    inbound = deliver(render("25_token_right_sender.eml", case_id=jo_case.pk, customer_email=JO))

    assert event_of(inbound).case_id == jo_case.pk
    assert event_of(inbound).payload["direction"] == "inbound"
    jo_case.refresh_from_db()
    assert jo_case.status == CaseStatus.WAITING_ON_US
    question.refresh_from_db()
    assert question.answered_at is not None


def test_an_auto_reply_on_the_case_does_not_answer_the_question(jo_case: Case, agent: User) -> None:
    ask_customer(case=jo_case, author=agent, question="Which model is it exactly?")
    raw = render("25_token_right_sender.eml", case_id=jo_case.pk, customer_email=JO)
    raw = raw.replace(b"MIME-Version: 1.0", b"Auto-Submitted: auto-replied\nMIME-Version: 1.0", 1)
    assert b"Auto-Submitted" in raw

    deliver(raw)

    jo_case.refresh_from_db()
    assert jo_case.status == CaseStatus.WAITING_ON_CUSTOMER
