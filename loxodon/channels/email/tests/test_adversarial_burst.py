"""A flood and an auto-reply storm over real SMTP (issue 10, item 4).

1,000 messages from one sender (its address spelt in several cases), 50 out-of-office answers
to a case, and one ordinary customer writing in the middle of it all, through the real
`loxodon smtpd` listener. Every message is kept; at most LOXODON_MAIL_SENDER_RATE of one
sender's reach a timeline, the rest are held for staff; no case is opened by mail, nothing is
sent to anyone, and the customer's open question is not taken as answered by an auto-reply.
"""

from __future__ import annotations

import smtplib
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from loxodon.cases.models import Case, CaseStatus
from loxodon.cases.services import open_case
from loxodon.channels.email import quarantine, tokens
from loxodon.channels.email.loops import may_auto_reply
from loxodon.channels.email.models import InboundMail, InboundStatus
from loxodon.channels.email.tests.adversarial_fixtures import (
    SUPPORT,
    Listener,
    Outbox,
    flush_outbound,
    listener,  # noqa: F401 - fixture
    mail,
    outbox,  # noqa: F401 - fixture
    wait_for,
)
from loxodon.channels.email.tests.conftest import deliver
from loxodon.customers.services import create_customer
from loxodon.org.models import User
from loxodon.outbound.services import queue_message
from loxodon.timeline.models import Event

JO = "jo.bloggs@example.com"
FLOOD = 1000
AUTO_REPLIES = 50
SPELLINGS = ("flood@spam.example", "Flood@Spam.Example", "FLOOD@SPAM.EXAMPLE")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_thousand_messages_from_one_sender_and_an_auto_reply_storm_lose_nothing(
    listener: Listener,  # noqa: F811
    outbox: Outbox,  # noqa: F811
    agent: User,
    settings: Any,
) -> None:
    assert settings.LOXODON_MAIL_SENDER_RATE == "30/h"
    jo = create_customer(name="Jo Bloggs", email=JO, verified=True)
    case = open_case(customer=jo, problem="Laptop will not start", actor=agent, owner=agent)
    question = queue_message(case=case, author=agent, body="Which model is it?", kind="question")
    flush_outbound()
    sent_before = len(outbox.envelopes)
    reply_to = tokens.reply_address(case.pk)

    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=60) as client:
        for n in range(FLOOD):
            sender = SPELLINGS[n % len(SPELLINGS)]
            raw = mail(
                sender=sender,
                to=SUPPORT,
                subject=f"WIN BIG {n}",
                body=f"flood message {n}",
                message_id=f"<flood-{n}@spam.example>",
            )
            assert client.sendmail(sender, [SUPPORT], raw) == {}
            if n == FLOOD // 2:  # an ordinary customer, in the middle of the flood
                normal = mail(
                    sender="nadia@example.com",
                    to=SUPPORT,
                    subject="Café machine leaks",
                    body="The machine I bought leaks water.",
                    message_id="<nadia-1@example.com>",
                )
                assert client.sendmail("nadia@example.com", [SUPPORT], normal) == {}
        for n in range(AUTO_REPLIES):  # Jo's out-of-office answering, again and again
            raw = mail(
                sender=JO,
                to=reply_to,
                subject="Automatic reply: Which model is it?",
                body=f"I am out of the office until Monday ({n}).",
                message_id=f"<ooo-{n}@example.com>",
                extra="Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
            )
            assert client.sendmail(JO, [reply_to], raw) == {}
    accepted = time.monotonic() - started
    total = FLOOD + 1 + AUTO_REPLIES

    def all_handled() -> bool:
        done = InboundMail.objects.exclude(status=InboundStatus.RECEIVED).count()
        return done == total and listener.drained()

    wait_for(all_handled, f"the listener to handle {total} messages", seconds=240)
    handled = time.monotonic() - started

    # Nothing lost: one row and one raw file per message.
    assert InboundMail.objects.count() == total
    assert len(list((listener.spool / "cur").iterdir())) == total
    assert not list((listener.spool / "failed").glob("*"))

    # The flood: 30 on a timeline (one sender, however spelt), the rest held for staff.
    flood = InboundMail.objects.filter(from_address="flood@spam.example")
    assert flood.count() == FLOOD
    assert flood.filter(status=InboundStatus.PROCESSED).count() == 30
    held = flood.filter(status=InboundStatus.QUARANTINED)
    assert held.count() == FLOOD - 30
    assert all(f.get("sender_rate") for f in held.values_list("flags", flat=True))
    assert Event.objects.filter(body__startswith="flood message").count() == 30

    # The ordinary customer is not caught by someone else's flood.
    nadia = InboundMail.objects.get(message_id="<nadia-1@example.com>")
    assert nadia.status == InboundStatus.PROCESSED

    # The auto-replies: none answers the question, 30 on the case, 20 held; none may be answered.
    ooo = InboundMail.objects.filter(message_id__startswith="<ooo-")
    assert ooo.filter(status=InboundStatus.PROCESSED, case=case).count() == 30
    assert ooo.filter(status=InboundStatus.QUARANTINED).count() == AUTO_REPLIES - 30
    assert not any(may_auto_reply(m) for m in ooo)
    question.refresh_from_db()
    case.refresh_from_db()
    assert question.answered_at is None and case.status == CaseStatus.WAITING_ON_CUSTOMER

    # No case opened by mail, and not one message sent to anybody.
    assert Case.objects.count() == 1
    flush_outbound()
    assert len(outbox.envelopes) == sent_before
    print(  # figures for docs/reliability.md (pytest -s)
        f"\nburst: {total} messages accepted over SMTP in {accepted:.1f}s, all handled in "
        f"{handled:.1f}s; flood: 30 on a timeline, {held.count()} held; "
        f"auto-replies: 30 on the case, {AUTO_REPLIES - 30} held; 0 sent; 0 lost"
    )


@pytest.mark.django_db
def test_the_sender_limit_is_per_address_and_per_period(settings: Any) -> None:
    settings.LOXODON_MAIL_SENDER_RATE = "3/10m"

    def send(n: int, sender: str = "pat@example.com") -> InboundMail:
        raw = mail(sender=sender, to=SUPPORT, subject=f"n{n}", body=f"n{n}", message_id=f"<n{n}@x>")
        return deliver(raw, mail_from=sender)

    first = [send(n) for n in range(3)]
    assert [m.status for m in first] == ["processed"] * 3
    held = send(3, "PAT@Example.com")
    assert held.status == InboundStatus.QUARANTINED
    assert "more than 3 messages from pat@example.com within 10 minutes" in held.error
    assert send(4, "sam@example.com").status == InboundStatus.PROCESSED  # someone else

    # Ten minutes later the sender's mail reaches the timeline again.
    InboundMail.objects.filter(pk__in=[m.pk for m in first]).update(
        received_at=timezone.now() - timedelta(minutes=11)
    )
    assert send(5).status == InboundStatus.PROCESSED

    for wrong in ("", "30", "0/h", "30/w", "many/h"):
        settings.LOXODON_MAIL_SENDER_RATE = wrong
        with pytest.raises(ImproperlyConfigured):
            quarantine.sender_rate()
