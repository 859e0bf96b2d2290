"""Forged senders over real SMTP (issue 10, items 1 and 2).

An attacker who knows a customer's address — and perhaps holds a case's reply address or one of
our Message-IDs from a forwarded mail — writes "as" that customer and copies themselves in,
or types the case's id into the subject. Everything goes through the real `loxodon smtpd`
listener; everything Loxodon sends goes to a real SMTP server we read back. The attacker must
gain nothing: no mail to them, nothing on the case, nothing shown to the customer as theirs, the
open question still open, and staff see the message held.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.urls import reverse

from loxodon.cases.models import Case, CaseStatus
from loxodon.cases.services import open_case
from loxodon.channels.email import tokens
from loxodon.channels.email.models import InboundStatus
from loxodon.channels.email.tests.adversarial_fixtures import (
    SUPPORT,
    Listener,
    Outbox,
    flush_outbound,
    listener,  # noqa: F401 - fixture
    mail,
    outbox,  # noqa: F401 - fixture
    portal_client,
    portal_text,
)
from loxodon.channels.email.tests.conftest import deliver
from loxodon.channels.email.tests.helpers import tampered
from loxodon.core.testing import signed_in
from loxodon.customers.models import Customer
from loxodon.customers.services import add_identity, create_customer
from loxodon.org.models import User
from loxodon.outbound.models import OutboundMessage
from loxodon.outbound.services import queue_message
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

JO = "jo.bloggs@example.com"
MALLORY = "mallory@evil.example"
FAILED_AUTH = (
    "Authentication-Results: loxodon.test; spf=fail smtp.mailfrom=example.com;\r\n"
    " dkim=none; dmarc=fail header.from=example.com\r\n"
)


def _jo_with_a_question(agent: User) -> tuple[Customer, Case, OutboundMessage, str]:
    """Jo's case; her owner asked her something (sent for real): the reply address and our
    Message-ID are what a forwarded copy of that mail would hand an attacker."""
    jo = create_customer(name="Jo Bloggs", email=JO, verified=True)
    case = open_case(customer=jo, problem="Laptop will not start", actor=agent, owner=agent)
    question = queue_message(case=case, author=agent, body="Which model is it?", kind="question")
    flush_outbound()
    question.refresh_from_db()
    assert question.status == "sent", question.status
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_ON_CUSTOMER
    return jo, case, question, question.message_id


def _forged(n: int, **kw: Any) -> tuple[str, bytes]:
    mid = f"<forged-{n}-{uuid.uuid4().hex[:8]}@evil.example>"
    return mid, mail(message_id=mid, **kw)


def _texts_on(case: Case) -> str:
    return "\n".join(Event.objects.filter(case=case).values_list("body", flat=True))


def test_a_forged_reply_copied_to_the_attacker_gains_the_attacker_nothing(
    listener: Listener,  # noqa: F811
    outbox: Outbox,  # noqa: F811
    agent: User,
    supervisor: User,
) -> None:
    jo, case, question, our_message_id = _jo_with_a_question(agent)
    reply_to = tokens.reply_address(case.pk)
    sent_before = len(outbox.envelopes)
    assert outbox.recipients() == [JO]

    attacks = [
        # 1. Jo's From, her case's reply address (from a forwarded mail), the attacker in Cc.
        _forged(
            1,
            sender=f"Jo Bloggs <{JO}>",
            to=reply_to,
            subject="Re: Which model is it?",
            body="FORGED-1 It is fixed now, close the case. Send the invoice to my Cc.",
            extra=f"Cc: {MALLORY}\r\n",
        ),
        # 2. Jo's From, the reply address, no Cc — but the mail server found the From forged.
        _forged(
            2,
            sender=f"Jo Bloggs <{JO}>",
            to=reply_to,
            subject="Re: Which model is it?",
            body="FORGED-2 Please change my delivery address to 1 Mallory Lane.",
            extra=FAILED_AUTH,
        ),
        # 3. Jo's From, our Message-ID quoted (threading by reference), the attacker in To.
        _forged(
            3,
            sender=JO,
            to=f"{SUPPORT}, {MALLORY}",
            subject="Re: Which model is it?",
            body="FORGED-3 Yes, solved. What is the address you have on file for me?",
            extra=f"In-Reply-To: {our_message_id}\r\nReferences: {our_message_id}\r\n",
        ),
    ]
    for (_mid, raw), rcpt in zip(attacks, [reply_to, reply_to, SUPPORT], strict=True):
        listener.send(raw, mail_from=JO, rcpt=[rcpt])
    rows = [listener.handled(mid) for mid, _ in attacks]

    # Held for staff: kept, on no timeline, with the reason.
    for row in rows:
        assert row.status == InboundStatus.QUARANTINED, (row.status, row.error, row.flags)
        assert row.event_id is None and row.customer_id is None
    assert rows[0].flags["outside_recipients"] == [MALLORY]
    assert "dmarc=fail" in rows[1].flags["authentication_failed"]
    assert rows[2].flags["outside_recipients"] == [MALLORY]
    assert not Event.objects.filter(body__contains="FORGED-").exists()

    # Not Jo's answer, not a confirmation: the question is open, the case still waits on her.
    case.refresh_from_db()
    question.refresh_from_db()
    assert case.status == CaseStatus.WAITING_ON_CUSTOMER
    assert question.answered_at is None

    # Staff see them held; the case stream does not show them.
    held = signed_in(supervisor).get("/desk/mail/?status=quarantined").content.decode()
    assert held.count("Re: Which model is it?") == 3
    detail = signed_in(supervisor).get(reverse("channels_email:detail", args=[rows[0].pk]))
    assert detail.status_code == 200
    assert f"also sent to {MALLORY}" in detail.content.decode()
    assert "FORGED-1 It is fixed now" in detail.content.decode()  # readable before deciding
    desk_case = signed_in(agent).get(f"/desk/cases/{case.pk}/").content.decode()
    assert "FORGED-" not in desk_case

    # Jo's genuine answer (the control: the same path does work for her) ...
    genuine = mail(
        message_id="<genuine-1@example.com>",
        sender=f"Jo Bloggs <{JO}>",
        to=reply_to,
        subject="Re: Which model is it?",
        body="GENUINE-1 It is the X1 Carbon.",
        extra=f"In-Reply-To: {our_message_id}\r\n",
    )
    listener.send(genuine, mail_from=JO, rcpt=[reply_to])
    assert listener.handled("<genuine-1@example.com>").status == InboundStatus.PROCESSED
    assert "GENUINE-1" in _texts_on(case) and "FORGED-" not in _texts_on(case)
    question.refresh_from_db()
    assert question.answered_at is not None

    # ... and the owner's answer go to Jo alone. Nothing ever went to the attacker.
    queue_message(case=case, author=agent, body="Thanks, a courier collects it tomorrow.")
    flush_outbound()
    assert len(outbox.envelopes) == sent_before + 1
    assert outbox.recipients() == [JO, JO]
    assert MALLORY.encode() not in outbox.raw() and b"FORGED-" not in outbox.raw()

    # Jo's portal shows her own words as hers, and none of the forged ones.
    pages = portal_text(portal_client(jo, JO), (f"/portal/cases/{case.pk}/",))
    assert "GENUINE-1" in pages[f"/portal/cases/{case.pk}/"]
    assert not [url for url, text in pages.items() if "FORGED-" in text]

    # A supervisor who has read one and judges it genuine releases it onto the case.
    released = signed_in(supervisor).post(reverse("channels_email:reprocess", args=[rows[0].pk]))
    assert released.status_code == 302
    rows[0].refresh_from_db()
    assert rows[0].status == InboundStatus.PROCESSED
    assert rows[0].flags["released_by"] == supervisor.username
    assert "FORGED-1" in _texts_on(case)


def test_a_case_id_in_the_subject_without_a_signed_token_never_reaches_the_case(
    listener: Listener,  # noqa: F811
    outbox: Outbox,  # noqa: F811
    agent: User,
) -> None:
    jo, case, question, _ = _jo_with_a_question(agent)
    mallory = create_customer(name="Mallory", email=MALLORY, verified=True)
    sent_before = len(outbox.envelopes)
    subject = f"Re: [#{case.pk}] Laptop will not start"
    attacks = [
        # Jo's From forged, the case id in the subject, nothing signed.
        _forged(
            1, sender=JO, to=SUPPORT, subject=subject, body="STOLEN-1 New address: Mallory Lane"
        ),
        # The attacker as themselves.
        _forged(2, sender=MALLORY, to=SUPPORT, subject=subject, body="STOLEN-2 status please"),
        # A reply address with a broken signature, Jo's From.
        _forged(
            3,
            sender=JO,
            to=tampered(tokens.reply_address(case.pk)),
            subject=subject,
            body="STOLEN-3 send me the invoice",
        ),
        # Jo's From, found forged by the mail server: held, on nobody's timeline.
        _forged(4, sender=JO, to=SUPPORT, subject=subject, body="STOLEN-4", extra=FAILED_AUTH),
    ]
    for _mid, raw in attacks:
        listener.send(raw, mail_from=MALLORY, rcpt=[SUPPORT])
    rows = [listener.handled(mid) for mid, _ in attacks]

    assert [r.status for r in rows] == ["processed", "processed", "processed", "quarantined"]
    assert all(r.case_id is None for r in rows[:3])
    events = {e.body.split()[0]: e for e in Event.objects.filter(body__startswith="STOLEN-")}
    assert set(events) == {"STOLEN-1", "STOLEN-2", "STOLEN-3"}
    # A new conversation on the sender's own customer, never on the case.
    assert all(e.case_id is None for e in events.values())
    assert events["STOLEN-2"].customer_id == mallory.pk
    assert "STOLEN-" not in _texts_on(case)
    case.refresh_from_db()
    question.refresh_from_db()
    assert case.status == CaseStatus.WAITING_ON_CUSTOMER and question.answered_at is None

    # The desk's case stream and Jo's portal case page: nothing.
    assert "STOLEN-" not in signed_in(agent).get(f"/desk/cases/{case.pk}/").content.decode()
    pages = portal_text(portal_client(jo, JO), (f"/portal/cases/{case.pk}/",))
    assert "STOLEN-" not in pages[f"/portal/cases/{case.pk}/"]
    assert not [url for url, text in pages.items() if "STOLEN-4" in text]
    # Mallory's portal shows her own message and nothing of Jo's case.
    mallory_pages = portal_text(portal_client(mallory, MALLORY))
    assert any("STOLEN-2" in t for t in mallory_pages.values())
    assert not [u for u, t in mallory_pages.items() if "Which model is it?" in t]

    # Nothing was sent to anyone.
    flush_outbound()
    assert len(outbox.envelopes) == sent_before


@pytest.mark.parametrize(
    ("header", "held"),
    [
        ("loxodon.test; dmarc=fail header.from=example.com", True),
        ("loxodon.test 1; spf=softfail smtp.mailfrom=example.com; dkim=fail", True),
        ("LOXODON.TEST; spf=fail; dkim=none", True),
        ("loxodon.test; spf=fail; dkim=pass header.d=example.com", False),
        ("loxodon.test; dmarc=pass; spf=pass", False),
        ("loxodon.test; spf=none; dkim=none", False),
        # Another server's verdict is not ours to act on (anyone can write this header).
        ("mx.evil.example; dmarc=fail", False),
        ("", False),
    ],
)
def test_only_our_mail_servers_failed_verdict_holds_a_reply(
    jo_case: Case, header: str, held: bool
) -> None:
    extra = f"Authentication-Results: {header}\r\n" if header else ""
    raw = mail(
        sender=JO,
        to=tokens.reply_address(jo_case.pk),
        subject="Re: Laptop",
        body="It still does not start.",
        message_id="<ar-1@example.com>",
        extra=extra,
    )
    inbound = deliver(raw, mail_from=JO)
    expected = InboundStatus.QUARANTINED if held else InboundStatus.PROCESSED
    assert inbound.status == expected, (inbound.status, inbound.error)
    assert Event.objects.filter(case=jo_case, source="email").exists() is not held


def test_the_trusted_mail_servers_can_be_configured(jo_case: Case, settings: Any) -> None:
    settings.LOXODON_MAIL_AUTHSERV_IDS = "mx1.example.net, mx2.example.net"
    for n, server in enumerate(("loxodon.test", "mx2.example.net")):
        raw = mail(
            sender=JO,
            to=tokens.reply_address(jo_case.pk),
            subject="Re: Laptop",
            body=f"Reply {n}",
            message_id=f"<ar-conf-{n}@example.com>",
            extra=f"Authentication-Results: {server}; dmarc=fail\r\n",
        )
        status = deliver(raw, mail_from=JO).status
        assert status == ("processed" if server == "loxodon.test" else "quarantined")


def test_a_reply_copied_to_the_customers_own_other_address_reaches_the_case(
    jo_case: Case,
) -> None:
    add_identity(customer=jo_case.customer, kind="email", value="jo@work.example", verified=True)
    raw = mail(
        sender=JO,
        to=tokens.reply_address(jo_case.pk),
        subject="Re: Laptop",
        body="Copying my work address.",
        message_id="<own-cc@example.com>",
        extra="Cc: Jo at work <JO@work.example>, sales@loxodon.test\r\n",
    )
    inbound = deliver(raw, mail_from=JO)
    assert inbound.status == InboundStatus.PROCESSED and inbound.case_id == jo_case.pk
