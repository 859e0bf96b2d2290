"""Every message of the awkward-mail corpus, each with its expected outcome.

The corpus (tests/corpus/*.eml) was written for this project; placeholders such as
{{REPLY_ADDRESS}} are filled at test time because reply tokens depend on the secret key, and
the 2 MB HTML and the oversize attachment are expanded at test time to keep the files small.
Jo Bloggs (jo.bloggs@example.com, verified) has an open case that tokens point to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from loxodon.cases.models import Case
from loxodon.channels.email.loops import may_auto_reply
from loxodon.channels.email.models import InboundMail, InboundStatus
from loxodon.channels.email.services import locate_raw
from loxodon.channels.email.tests.conftest import JO, deliver, event_of
from loxodon.channels.email.tests.helpers import CORPUS, render
from loxodon.customers.models import Identity
from loxodon.timeline.models import Event


@dataclass(frozen=True)
class Expect:
    status: str = InboundStatus.PROCESSED
    customer: str | None = "new"  # "jo", "new" (the sender's own customer) or None
    case: bool = False  # put on Jo's case
    flags: frozenset[str] = frozenset()  # keys that must be in the flags
    auto_reply: bool = True  # may_auto_reply() — only for mail on a timeline
    attachments: int = 0
    skipped: int = 0
    body: str = ""  # text that must be in the event body ("" : body must be empty)
    subject: str = ""
    quote: bool = False
    error: str = ""
    mail_from: str = "sender@example.net"
    before: str = ""  # deliver this corpus message first
    redeliver_changed: bool = False  # delivered again with another Received header
    settings: dict[str, Any] = field(default_factory=dict)


NO_REPLY = frozenset({"no_reply"})
EXPECTED: dict[str, Expect] = {
    "01_plain_utf8.eml": Expect(body="docking station", subject="My order has not arrived"),
    "02_latin1_body.eml": Expect(body="ne démarre plus", subject="Mon portable ne démarre pas"),
    "03_windows1252_quotes.eml": Expect(
        body="“the refund is on its way” but I still miss €49.99 \u2013"
    ),
    "04_shift_jis.eml": Expect(body="電源が入りません", subject="電源が入りません"),
    "05_utf8_labelled_latin1.eml": Expect(body="für März fehlt. Mit freundlichen Grüßen"),
    "06_latin1_labelled_utf8.eml": Expect(body="Não recebi o café"),
    "07_unknown_charset.eml": Expect(body="claim form does not load", subject="Qapla"),
    "08_rfc2047_headers.eml": Expect(body="Hej!", subject="Fråga om garanti och återköp"),
    "09_raw_8bit_headers.eml": Expect(body="fausse", subject="Problème de facturation — urgent"),
    "10_broken_boundary.eml": Expect(
        body="screenshot is attached", attachments=1, flags=frozenset({"defects"})
    ),
    "11_missing_boundary_param.eml": Expect(body="cannot log in", flags=frozenset({"defects"})),
    "12_no_from_envelope.eml": Expect(
        body="call me back", flags=frozenset({"from_missing", "no_reply"}), auto_reply=False
    ),
    "13_no_from_no_envelope.eml": Expect(
        status=InboundStatus.FAILED, customer=None, mail_from="", error="no sender address"
    ),
    "14_not_an_email.eml": Expect(
        status=InboundStatus.FAILED, customer=None, error="not an email message"
    ),
    "15_huge_html.eml": Expect(body="Laptop bag, black", subject="reconcile"),
    "16_nested_multipart.eml": Expect(body="invoice total looks wrong", attachments=2),
    "17_winmail_dat.eml": Expect(body="documents attached", attachments=2),
    "18_inline_cid_image.eml": Expect(body="The box arrived like this", attachments=1),
    "19_forwarded_chain.eml": Expect(body="delivery is booked for Tuesday", quote=True),
    "20_forward_as_attachment.eml": Expect(body="10% off", attachments=1),
    "21_gmail_reply.eml": Expect(body="It arrived today", quote=True),
    "22_outlook_reply.eml": Expect(body="Any news on the repair?", quote=True),
    # "[#<case id>]" in the subject is never trusted: a new conversation for the sender.
    "23_stolen_subject_id.eml": Expect(body="replacement to my new address"),
    # A forged From can reach the customer's timeline like any mail, but never the case.
    "24_spoofed_from_stolen_subject.eml": Expect(customer="jo", body="Mallory Lane"),
    "25_token_right_sender.eml": Expect(
        customer="jo", case=True, body="still does not", quote=True
    ),
    "26_reference_right_sender.eml": Expect(customer="jo", case=True, body="engineer visit"),
    "27_token_other_sender.eml": Expect(
        body="status of the case", flags=frozenset({"sender_mismatch"})
    ),
    "28_tampered_token.eml": Expect(customer="jo", body="mangled address"),
    "29_auto_submitted_ooo.eml": Expect(
        customer="jo", body="out of the office", flags=NO_REPLY, auto_reply=False
    ),
    "30_x_autoreply.eml": Expect(body="nicht im Büro", flags=NO_REPLY, auto_reply=False),
    "31_precedence_bulk.eml": Expect(body="50% off", flags=NO_REPLY, auto_reply=False),
    "32_x_loop.eml": Expect(body="Thank you", flags=NO_REPLY, auto_reply=False),
    "33_dsn_bounce_with_reference.eml": Expect(
        customer="jo",
        case=True,
        body="mailbox full",
        flags=frozenset({"bounce", "no_reply"}),
        auto_reply=False,
        attachments=2,
        mail_from="<>",
    ),
    "34_dsn_bounce_unknown.eml": Expect(
        status=InboundStatus.IGNORED, customer=None, error="bounce", mail_from="<>"
    ),
    "35_own_message_id_loop.eml": Expect(
        status=InboundStatus.IGNORED, customer=None, error="our own mail came back"
    ),
    "36_oversize_attachment.eml": Expect(
        body="Two photos",
        attachments=1,
        skipped=1,
        settings={"LOXODON_MAX_ATTACHMENT_BYTES": 100_000},
    ),
    "37_dangerous_html.eml": Expect(body="click me", subject="<script>"),
    "38_empty_body.eml": Expect(body=""),
    "39_only_attachment.eml": Expect(body="", attachments=1),
    "40_very_long_subject.eml": Expect(body="See subject.", subject="Problem word0 word1"),
    "41_duplicate_delivery.eml": Expect(body="delivered twice", redeliver_changed=True),
    "42_reused_message_id.eml": Expect(
        body="I am not Priya",
        flags=frozenset({"message_id_reused"}),
        before="01_plain_utf8.eml",
    ),
    "43_mailing_list.eml": Expect(body="batteries", flags=NO_REPLY, auto_reply=False),
}


def test_the_corpus_is_complete() -> None:
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED), "every corpus message needs an expected outcome"
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name: str, jo_case: Case, settings: Any) -> None:
    expect = EXPECTED[name]
    for key, value in expect.settings.items():
        setattr(settings, key, value)
    if expect.before:
        deliver(render(expect.before, case_id=jo_case.pk, customer_email=JO))
    raw = render(name, case_id=jo_case.pk, customer_email=JO)
    events_before = Event.objects.filter(source="email").count()

    inbound = deliver(raw, mail_from=expect.mail_from)

    # Nothing is ever lost: the raw message is kept byte for byte, filed by outcome.
    path = locate_raw(inbound.spool_name)
    assert path is not None and path.read_bytes().endswith(raw)
    assert path.parent.name == ("failed" if expect.status == InboundStatus.FAILED else "cur")
    assert inbound.status == expect.status, inbound.error
    assert expect.error in inbound.error
    flags = inbound.flags
    assert expect.flags <= set(flags), flags
    assert may_auto_reply(inbound) is (expect.auto_reply and expect.status == "processed")
    assert "<script" not in inbound.html and "onerror" not in inbound.html
    assert "javascript:" not in inbound.html and "expression(" not in inbound.html

    if expect.status != InboundStatus.PROCESSED:
        assert inbound.event_id is None
        assert Event.objects.filter(source="email").count() == events_before
        return

    event = event_of(inbound)
    assert Event.objects.filter(source="email").count() == events_before + 1
    assert (event.channel, event.kind) == ("email", "message")
    assert len(json.dumps(event.payload)) < 64 * 1024
    assert len(event.summary) <= 300
    if expect.body:
        assert expect.body in event.body
    else:
        assert event.body == ""
    assert expect.subject in event.payload["subject"]
    assert len(event.payload["attachments"]) == expect.attachments
    assert inbound.attachments.count() == expect.attachments
    assert len(event.payload["skipped_attachments"]) == expect.skipped
    assert (event.payload["quote_start"] is not None) is expect.quote

    jo_id = jo_case.customer_id
    assert (event.case_id == jo_case.pk) is expect.case
    if expect.customer == "jo":
        assert event.customer_id == jo_id
    else:
        assert event.customer_id != jo_id
        sender = event.payload["from"].lower() or expect.mail_from
        assert Identity.objects.filter(
            customer_id=event.customer_id, kind="email", value=sender
        ).exists()

    if expect.redeliver_changed:
        again = deliver(b"Received: from relay2.example.net by mx; Thu, 19 Nov 2026\r\n" + raw)
        assert again.pk != inbound.pk
        assert again.status == InboundStatus.DUPLICATE
        assert again.event_id == event.pk
        assert Event.objects.filter(source="email").count() == events_before + 1


def test_sender_mismatch_is_visible_to_staff_only_as_a_note(jo_case: Case) -> None:
    """A valid case token from someone else: not on the case, and staff are told."""
    inbound = deliver(render("27_token_other_sender.eml", case_id=jo_case.pk, customer_email=JO))
    event = event_of(inbound)
    assert event.case_id is None
    assert event.payload["flags"]["sender_mismatch"] == {"case_id": str(jo_case.pk)}
    assert not Event.objects.filter(case=jo_case, source="email").exists()
    assert InboundMail.objects.get(pk=inbound.pk).case_id == jo_case.pk


def test_oversize_attachment_is_named_in_the_event(jo_case: Case, settings: Any) -> None:
    settings.LOXODON_MAX_ATTACHMENT_BYTES = 100_000
    raw = render("36_oversize_attachment.eml", case_id=jo_case.pk, customer_email=JO)
    event = event_of(deliver(raw))
    (skipped,) = event.payload["skipped_attachments"]
    assert skipped["filename"] == "full-resolution.png"
    assert "exceeds the limit, kept in the raw message" in skipped["reason"]
    assert "300.0 KB" in skipped["reason"]


def test_per_message_limit(jo_case: Case, settings: Any) -> None:
    settings.LOXODON_MAX_ATTACHMENTS_BYTES = 50  # the PDF (26 bytes) fits, the image (70) not
    raw = render("16_nested_multipart.eml", case_id=jo_case.pk, customer_email=JO)
    event = event_of(deliver(raw))
    assert [a["filename"] for a in event.payload["attachments"]] == ["invoice-7781.pdf"]
    (skipped,) = event.payload["skipped_attachments"]
    assert "limit for one message" in skipped["reason"]
