"""A customer with personal data in every place Loxodon keeps it, built through the services the
channels, desk and portal use: the erasure tests erase her and then look for every value.

Wilhelmina Quarrington has a profile with an address and date of birth, a verified email and
phone, an account number, a portal login with a password, a magic link, pins, labels and a
nickname, a case (task, note, handoff, proposed and confirmed resolution), a portal message with
an attachment, a data export, an emailed message with an attachment in the spool, a chat, a call
through the IVR, a web visit, a survey answer with a comment, a policy exception and a citation,
an outbound message, an imported centre record, a business account listing her as a key
contact, a match-review pair, and a duplicate record of her (Willa) merged into her.
Tobias Fenwright is a bystander whose data must come through untouched.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.cases.services import (
    CaseDraft,
    complete_task,
    confirm_resolution,
    hand_off,
    open_case,
    open_cases,
    propose_resolution,
)
from loxodon.channels.chat.services import (
    greet_visitor,
    post_agent_message,
    post_visitor_message,
    take_chat,
)
from loxodon.channels.email.mail_spool import spool_message
from loxodon.channels.email.models import InboundMail
from loxodon.channels.email.services import process_spooled_mail
from loxodon.channels.imports.models import ImportedRecord
from loxodon.channels.voice.schemas import CallEndedIn, CallStartedIn, IvrCompletedIn
from loxodon.channels.voice.services import apply_call_step, create_voice_integration
from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.services import HitDraft, create_web_property, record_hits
from loxodon.customers.models import Account, Customer, MatchReview
from loxodon.customers.services import create_customer, merge_customers
from loxodon.insights.services import SurveyAnswers, record_portal_survey_response
from loxodon.knowledge.citations import cite_article
from loxodon.knowledge.exceptions import grant_exception
from loxodon.knowledge.models import Article
from loxodon.org.models import Department, Site, User
from loxodon.outbound.services import queue_message
from loxodon.portal.auth import issue_link, set_password
from loxodon.portal.exports import build_export
from loxodon.portal.models import Attachment, PortalLogin
from loxodon.portal.tests.export_fixtures import one_of_everything
from loxodon.timeline.services import record_event

NAME = "Wilhelmina Quarrington"
EMAIL = "wil.quarrington@example.org"
PHONE = "07700 900461"
PHONE_E164 = "+447700900461"
ACCOUNT_NUMBER = "QA-771205"
STREET = "17 Thistlewood Lane"
CITY = "Pemberbury"
POSTCODE = "PB4 7QX"
DOB = date(1979, 3, 14)
SENTENCE = "My parrot Gustavo chewed through the charging cable again"
PASSWORD = "lantern-orchard-velvet-92"
ABSORBED_NAME = "Willa Quarrington"
ABSORBED_EMAIL = "willa.q@example.net"
ABSORBED_SENTENCE = "The zebra-striped laptop sleeve arrived torn"
SUPPORT = "support@loxodon.test"

#: What must not be found anywhere after erasure (compared lower-case).
PERSONAL_VALUES = (
    NAME,
    "Wilhelmina",
    "Quarrington",
    EMAIL,
    "wil.quarrington",
    "7700 900461",
    "7700900461",
    ACCOUNT_NUMBER,
    "Thistlewood",
    CITY,
    POSTCODE,
    DOB.isoformat(),
    "parrot Gustavo",
    "Gustavo",
    ABSORBED_NAME,
    ABSORBED_EMAIL,
    "zebra-striped",
)

BYSTANDER_NAME = "Tobias Fenwright"
BYSTANDER_EMAIL = "tobias.fenwright@example.com"
BYSTANDER_SENTENCE = "The hinge on my Fenwright-owned tablet squeaks"


@dataclass
class Subject:
    customer: Customer
    absorbed: Customer
    bystander: Customer
    login: PortalLogin
    case: Case
    bystander_case: Case
    storage_files: list[str]
    spool_names: list[str]


def _raw_mail(case: Case) -> bytes:
    from loxodon.channels.email import tokens

    return (
        f"From: {NAME} <{EMAIL}>\r\n"
        f"To: {tokens.reply_address(case.pk)}\r\n"
        f"Subject: Gustavo strikes again\r\n"
        f"Message-ID: <erasure-test-1@example.org>\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        f"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{SENTENCE}.\r\nRing me on {PHONE}, or write to {STREET}, {CITY} {POSTCODE}.\r\n"
        f"{NAME}\r\n"
        f"--b1\r\nContent-Type: text/plain; name=receipt.txt\r\n"
        f'Content-Disposition: attachment; filename="quarrington-receipt.txt"\r\n\r\n'
        f"Receipt for {NAME}, {STREET}\r\n"
        f"--b1--\r\n"
    ).encode()


def build_subject(
    *,
    agent: User,
    supervisor: User,
    department: Department,
    site: Site,
    policy: Article,
    now: datetime | None = None,
) -> Subject:
    now = now or timezone.now()
    everything = one_of_everything(NAME, EMAIL, agent=agent, department=department, marker="mk1")
    customer, login, case = everything.customer, everything.login, everything.case
    Customer.objects.filter(pk=customer.pk).update(
        first_name="Wilhelmina",
        last_name="Quarrington",
        street=STREET,
        city=CITY,
        postcode=POSTCODE,
        date_of_birth=DOB,
    )
    from loxodon.customers.services import add_identity

    add_identity(customer=customer, kind="phone", value=PHONE, verified=True)
    add_identity(customer=customer, kind="account_number", value=ACCOUNT_NUMBER, verified=True)
    account = Account.objects.create(
        name="Thimble & Daughters Bakery Ltd",
        key_contacts=[
            {"name": NAME, "role": "owner", "email": EMAIL, "phone": PHONE_E164},
            {"name": "Bea Baker", "role": "accounts", "email": "accounts@bakery.example"},
        ],
    )
    Customer.objects.filter(pk=customer.pk).update(account=account)
    customer.refresh_from_db()
    set_password(login, new_password=PASSWORD)
    issue_link(purpose="sign_in", email=EMAIL, login=login)

    # Her words on the timeline and her case, from several channels.
    record_event(
        customer_id=customer.pk,
        kind="message",
        channel="web",
        case_id=case.pk,
        summary=f"Message from {NAME}",
        body=SENTENCE,
        payload={"direction": "inbound", "signature": f"{NAME}, {STREET}"},
    )
    content = f"{SENTENCE} (photo caption)".encode()
    stored = default_storage.save("portal-test/gustavo.txt", ContentFile(content))
    Attachment.objects.create(
        customer=customer,
        case=case,
        event=everything.message,
        filename="gustavo-chewed-cable.txt",
        content_type="text/plain",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_name=stored,
    )
    hand_off(
        case=case,
        to=supervisor,
        context=f"{NAME} says {SENTENCE}; lives at {STREET}",
        actor=agent,
    )
    case = Case.objects.get(pk=case.pk)
    complete_task(
        task=everything.task, note=f"Courier to {STREET}, {CITY} {POSTCODE}", actor=supervisor
    )
    grant_exception(
        case=case,
        article=policy,
        parameter="return_window",
        granted_value=40,
        reason=f"{NAME} has been loyal since {DOB.year}; {SENTENCE}",
        by=supervisor,
    )
    cite_article(case=case, article=policy, by=supervisor, channel="email", note=f"for {NAME}")
    queue_message(
        case=case, author=supervisor, body=f"Dear Wilhelmina, a new cable goes to {STREET}."
    )

    # Email with an attachment, through the spool, threaded onto her case.
    spool_message(_raw_mail(case), mail_from=EMAIL, rcpt_tos=[SUPPORT])
    handled = process_spooled_mail()
    assert len(handled) == 1 and handled[0].customer_id == customer.pk, handled

    # Chat from the web shop, signed in as her.
    shop = create_web_property(name="Shop", site_code=site.code)
    token = sign_identity(shop.identity_secret, {"email": EMAIL, "exp": int(time.time()) + 600})
    visitor = greet_visitor(shop, "visitor-wilhelmina-0001", token).visitor
    posted = post_visitor_message(visitor, body=f"Hi, {SENTENCE}", client_id="c1")
    take_chat(chat=posted.chat, agent=agent)
    post_agent_message(
        chat=posted.chat, agent=agent, body="Hello Wilhelmina, sorry about Gustavo", client_id="a1"
    )
    # A web visit with a search for her own address.
    record_hits(
        shop,
        visitor_key="visitor-wilhelmina-0001",
        hits=[
            HitDraft(
                client_id="h1",
                type="search",
                at=now - timedelta(minutes=5),
                url="https://shop.example/search?q=thistlewood+lane+delivery",
                title="Search",
                query=f"delivery to {STREET}",
                product="",
                options={},
            )
        ],
        identity_token=token,
        now=now,
    )
    # A call with IVR answers.
    pbx = create_voice_integration(name="PBX")
    at = now - timedelta(minutes=30)
    apply_call_step(
        pbx,
        CallStartedIn(
            type="call.started",
            id="erasure-call-1",
            call_id="erasure-call",
            occurred_at=at,
            caller=PHONE,
            dialled="+44 113 496 0000",
        ),
    )
    apply_call_step(
        pbx,
        IvrCompletedIn(
            type="ivr.completed",
            id="erasure-call-2",
            call_id="erasure-call",
            occurred_at=at + timedelta(seconds=40),
            account_number=ACCOUNT_NUMBER,
            verified=True,
            menu_path=["Technical support", "Cables"],
            intent="cable_damage",
        ),
    )
    apply_call_step(
        pbx,
        CallEndedIn(
            type="call.ended",
            id="erasure-call-3",
            call_id="erasure-call",
            occurred_at=at + timedelta(minutes=4),
            duration_seconds=200,
            transcript_ref="pbx://transcripts/quarrington-1",
        ),
    )
    # Her survey answer with a comment.
    record_portal_survey_response(
        customer,
        everything.invitation.pk,
        SurveyAnswers(satisfaction=2, effort=6, intent="no", comment=f"{SENTENCE}, still angry"),
    )
    case = Case.objects.get(pk=case.pk)
    if case.can_propose_resolution():
        propose_resolution(case=case, summary=f"New cable sent to {STREET}", actor=supervisor)
    confirm_resolution(case=Case.objects.get(pk=case.pk), via="phone", actor=supervisor)

    # A centre's record of her, and a second export now that there is more to export.
    ImportedRecord.objects.create(
        site=site,
        legacy_key="lon:998877",
        customer=customer,
        values={"name": NAME, "street": STREET, "postcode": POSTCODE, "dob": DOB.isoformat()},
        fingerprint="0" * 64,
    )
    build_export(customer)

    # Her duplicate, with a message of her own, merged into her.
    absorbed = create_customer(name=ABSORBED_NAME, email=ABSORBED_EMAIL, verified=True)
    record_event(
        customer_id=absorbed.pk,
        kind="message",
        channel="email",
        summary=f"Email from {ABSORBED_NAME}",
        body=ABSORBED_SENTENCE,
    )
    merge_customers(
        survivor=customer, absorbed=absorbed, by=supervisor, reason="same person, checked"
    )

    # A case a web form opened under a key made of her e-mail address (ADR 20).
    open_cases(
        [
            CaseDraft(
                customer=customer, problem=SENTENCE, source="web-form", external_id=f"form:{EMAIL}"
            )
        ],
        actor=None,
    )

    # A bystander, and a review pair between them.
    bystander = create_customer(name=BYSTANDER_NAME, email=BYSTANDER_EMAIL, verified=True)
    bystander_case = open_case(
        customer=bystander, problem=BYSTANDER_SENTENCE, actor=agent, owner=agent
    )
    record_event(
        customer_id=bystander.pk,
        kind="message",
        channel="email",
        case_id=bystander_case.pk,
        summary=f"Email from {BYSTANDER_NAME}",
        body=BYSTANDER_SENTENCE,
    )
    a, b = sorted([customer, bystander], key=lambda c: c.pk)
    MatchReview.objects.create(
        customer_a=a,
        customer_b=b,
        score=0.41,
        comparison=[{"field": "name", "level": "different", "bayes_factor": 0.1}],
        note=f"Not sure: {NAME} of {CITY}?",
    )

    storage_files = list(
        Attachment.objects.filter(customer=customer).values_list("storage_name", flat=True)
    )
    from loxodon.channels.email.models import MailAttachment
    from loxodon.portal.models import DataExport

    storage_files += list(
        MailAttachment.objects.filter(inbound__customer=customer).values_list(
            "storage_name", flat=True
        )
    )
    storage_files += list(
        DataExport.objects.filter(customer=customer).values_list("storage_name", flat=True)
    )
    spool_names = list(
        InboundMail.objects.filter(customer=customer).values_list("spool_name", flat=True)
    )
    customer.refresh_from_db()
    return Subject(
        customer=customer,
        absorbed=Customer.objects.get(pk=absorbed.pk),
        bystander=bystander,
        login=login,
        case=Case.objects.get(pk=case.pk),
        bystander_case=bystander_case,
        storage_files=storage_files,
        spool_names=spool_names,
    )
