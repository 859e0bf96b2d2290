"""The "ticket trick" over real SMTP (issue 10, item 3).

An attacker with a case signs up at an outside service using an address of ours — their case's
reply address, or the plain support address — so that the service's verification mail (the
key to an account in the company's name) arrives here. If it were put on the attacker's case,
the portal would show them the code. It must be visible to staff only.
"""

from __future__ import annotations

import pytest

from loxodon.cases.services import open_case
from loxodon.channels.email import tokens
from loxodon.channels.email.models import InboundMail
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
from loxodon.core.testing import signed_in
from loxodon.customers.models import Identity
from loxodon.customers.services import create_customer
from loxodon.org.models import User
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

MALLORY = "mallory@evil.example"
JO = "jo.bloggs@example.com"
SERVICE = "noreply@github.com"


def test_an_outside_services_verification_mail_reaches_staff_only(
    listener: Listener,  # noqa: F811
    outbox: Outbox,  # noqa: F811
    agent: User,
) -> None:
    mallory = create_customer(name="Mallory", email=MALLORY, verified=True)
    her_case = open_case(customer=mallory, problem="Where is my parcel?", actor=agent, owner=agent)
    jo = create_customer(name="Jo Bloggs", email=JO, verified=True)
    jo_case = open_case(customer=jo, problem="Laptop will not start", actor=agent, owner=agent)
    thread = tokens.reply_address(her_case.pk)
    auto = "Auto-Submitted: auto-generated\r\n"

    # (to, extra headers) for each way the verification mail can arrive.
    variants = [
        (thread, auto),  # to the attacker's case reply address, marked automatic
        (thread, ""),  # the same without any automatic-mail header
        (SUPPORT, auto),  # to the plain support address
        ("support+mallory@loxodon.test", ""),  # an unsigned plus-address
        (thread, f"Cc: {MALLORY}\r\nReply-To: {MALLORY}\r\n"),  # the attacker copied in
        (tokens.reply_address(jo_case.pk), auto),  # another customer's case address
    ]
    codes = [f"VERIFY-{n}{n}{n}4{n}7" for n in range(1, len(variants) + 1)]
    for n, ((to, extra), code) in enumerate(zip(variants, codes, strict=True), start=1):
        raw = mail(
            sender=f"GitHub <{SERVICE}>",
            to=to,
            subject="[GitHub] Please verify your email address",
            body=f"Here is your GitHub launch code: {code}\r\nIf this was not you, ignore it.",
            message_id=f"<verify-{n}@github.com>",
            extra=extra,
        )
        listener.send(raw, mail_from="bounces@github.com", rcpt=[to])
    rows = [listener.handled(f"<verify-{n}@github.com>") for n in range(1, len(variants) + 1)]

    # Kept and on the timeline of the service's own (new, unverified) customer; on no case.
    assert {r.status for r in rows} == {"processed"}, [(r.status, r.error) for r in rows]
    events = list(Event.objects.filter(body__contains="VERIFY-"))
    assert len(events) == len(variants)
    assert {e.case_id for e in events} == {None}
    (service_customer,) = {e.customer_id for e in events}
    assert service_customer not in (mallory.pk, jo.pk)
    assert not Identity.objects.get(kind="email", value=SERVICE).verified
    # Mail that carried a case's reply address is flagged for staff as someone else's.
    assert [bool(r.flags.get("sender_mismatch")) for r in rows] == [1, 1, 0, 0, 1, 1]
    assert InboundMail.objects.filter(case=her_case).count() == 3  # noted, not attached

    # Staff see it on the service's customer page.
    desk = signed_in(agent).get(f"/desk/customers/{service_customer}/").content.decode()
    assert codes[0] in desk

    # The attacker, signed in to the portal, finds no code on any page, searched or not.
    mallory_pages = portal_text(
        portal_client(mallory, MALLORY),
        (
            f"/portal/cases/{her_case.pk}/",
            # (a search for the code itself would only echo the query back)
            "/portal/timeline/?q=launch",
            "/portal/timeline/?q=GitHub",
            "/portal/timeline/?q=verify",
            "/portal/timeline/?q=parcel",  # the control: search does find her own words
            "/portal/timeline/?channel=email",
        ),
    )
    # ... nor does any other customer.
    jo_pages = portal_text(portal_client(jo, JO), (f"/portal/cases/{jo_case.pk}/",))
    for pages in (mallory_pages, jo_pages):
        leaks = [(url, c) for url, text in pages.items() for c in codes if c in text]
        assert not leaks and not [u for u, t in pages.items() if "launch code" in t]
    assert "Where is my parcel?" in mallory_pages[f"/portal/cases/{her_case.pk}/"]
    assert "Where is my parcel?" in mallory_pages["/portal/timeline/?q=parcel"]

    # And no mail answered the service (or anyone).
    flush_outbound()
    assert outbox.envelopes == []
