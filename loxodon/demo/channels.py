"""The demo's channels, wired the way a company would: a web shop with the chat widget and the
activity beacon, a telephone system sending signed call events, and some live traffic through
the real adapters (a call with IVR answers, a web visit, chats waiting on the desk)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from loxodon.channels.chat.services import (
    greet_visitor,
    post_agent_message,
    post_visitor_message,
    take_chat,
)
from loxodon.channels.email import loops
from loxodon.channels.email.mail_spool import spool_message
from loxodon.channels.email.services import process_spool_file
from loxodon.channels.voice.models import VoiceIntegration
from loxodon.channels.voice.schemas import (
    CallEndedIn,
    CallRoutedIn,
    CallStartedIn,
    IvrCompletedIn,
)
from loxodon.channels.voice.services import apply_call_step, create_voice_integration
from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty
from loxodon.channels.web.services import HitDraft, create_web_property, record_hits
from loxodon.demo.world import DemoWorld

SHOP_NAME = "Loxodon Computers web shop (demo)"
SHOP = "https://shop.loxodon.example"


def seed_channels(world: DemoWorld, now: datetime) -> int:
    """Channel set-up and live traffic; returns how many timeline events were written."""
    shop = create_web_property(name=SHOP_NAME, site_code="leeds")
    pbx = create_voice_integration(name="Head office telephone system (demo)")
    written = 0
    written += _priya_browses_the_shop(world, shop, now)
    written += _daniel_calls_and_the_ivr_verifies_him(world, pbx, now)
    written += _chats_on_the_desk(world, shop)
    _a_forged_mail_is_held(world, now)
    return written


def _a_forged_mail_is_held(world: DemoWorld, now: datetime) -> None:
    """A message claiming to be Daniel that our mail server found forged (DMARC fail): held for
    staff at /desk/mail/?status=quarantined, on no timeline, answered by nothing."""
    daniel = world.story_people["daniel"]
    ours = loops.support_address()
    message = EmailMessage()
    message["From"] = f"Daniel Okafor <{daniel.plan.email}>"
    message["To"] = ours
    message["Subject"] = "Change of delivery address for my replacement laptop"
    message["Date"] = format_datetime(now - timedelta(minutes=20))
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    message["Authentication-Results"] = (
        f"{ours.rpartition('@')[2]}; spf=fail smtp.mailfrom=example.com; "
        "dkim=none; dmarc=fail header.from=example.com"
    )
    message.set_content(
        "Hello, please send the replacement to my new address: 14 Quay Street, Hull.\n"
        "And reply to my new email, d.okafor.refunds@mail.example.net.\n"
    )
    path = spool_message(bytes(message), mail_from="bounce@mail.example.net", rcpt_tos=[ours])
    process_spool_file(path)


def _token(shop: WebProperty, email: str) -> str:
    return sign_identity(shop.identity_secret, {"email": email, "exp": int(time.time()) + 600})


def _priya_browses_the_shop(world: DemoWorld, shop: WebProperty, now: datetime) -> int:
    priya = world.story_people["priya"]
    start = now - timedelta(hours=3)
    pages = [
        ("/business/laptops", "Business laptops", "", "", {}),
        ("/search?q=probook+32gb", "Search", "probook 32gb", "", {}),
        ("/business/laptops/probook-450-g10", "ProBook 450 G10", "", "", {}),
        (
            "/configure/probook-450-g10",
            "Configure ProBook 450 G10",
            "",
            "ProBook 450 G10",
            {"memory": "32GB", "storage": "1TB SSD", "quantity": 12},
        ),
        ("/business/account/terms", "Invoice terms for business accounts", "", "", {}),
    ]
    hits = [
        HitDraft(
            client_id=f"demo-priya-{n}",
            type="search" if query else ("configuration" if product else "page_view"),
            at=start + timedelta(minutes=3 * n),
            url=SHOP + path,
            title=title,
            query=query,
            product=product,
            options=options,
        )
        for n, (path, title, query, product, options) in enumerate(pages)
    ]
    record_hits(
        shop,
        visitor_key="demo-visitor-priya-0001",
        hits=hits,
        identity_token=_token(shop, priya.plan.email or ""),
        now=now,
    )
    return 1


def _daniel_calls_and_the_ivr_verifies_him(
    world: DemoWorld, pbx: VoiceIntegration, now: datetime
) -> int:
    daniel = world.story_people["daniel"]
    account = daniel.plan.account_number or ""
    at = now - timedelta(minutes=50)
    call = "demo-call-0001"
    steps: list[CallStartedIn | IvrCompletedIn | CallRoutedIn | CallEndedIn] = [
        CallStartedIn(
            type="call.started",
            id=f"{call}-1",
            call_id=call,
            occurred_at=at,
            caller=daniel.plan.phone,
            dialled="+44 113 496 0000",
        ),
        IvrCompletedIn(
            type="ivr.completed",
            id=f"{call}-2",
            call_id=call,
            occurred_at=at + timedelta(seconds=75),
            account_number=account,
            verified=True,
            menu_path=["Technical support", "Laptops", "Does not power on"],
            intent="laptop_no_power",
        ),
        CallRoutedIn(
            type="call.routed",
            id=f"{call}-3",
            call_id=call,
            occurred_at=at + timedelta(seconds=90),
            to_agent="agent",
        ),
        CallEndedIn(
            type="call.ended",
            id=f"{call}-4",
            call_id=call,
            occurred_at=at + timedelta(minutes=7, seconds=12),
            duration_seconds=342,
            transcript_ref="pbx://transcripts/demo-call-0001",
        ),
    ]
    for step in steps:
        apply_call_step(pbx, step)
    return 1


def _chats_on_the_desk(world: DemoWorld, shop: WebProperty) -> int:
    """One anonymous visitor waiting, and a signed-in customer being answered by an agent."""
    waiting = greet_visitor(shop, "demo-visitor-anonymous-0001", None).visitor
    post_visitor_message(
        waiting,
        body="Hello, does the ProBook 450 G10 come with a UK keyboard? Ordering for a school.",
        client_id="demo-anon-1",
    )
    stories = {id(p) for p in world.story_people.values()}
    person = next(p for p in world.people if p.plan.email and id(p) not in stories)
    signed_in = greet_visitor(
        shop, "demo-visitor-signed-in-0001", _token(shop, person.plan.email or "")
    ).visitor
    posted = post_visitor_message(
        signed_in,
        body="Hi, my order says delivered but the parcel is not here. Can you check with DPD?",
        client_id="demo-signed-in-1",
    )
    agent = world.staff["agent"]
    take_chat(chat=posted.chat, agent=agent)
    post_agent_message(
        chat=posted.chat,
        agent=agent,
        body=f"Hello {person.first_name}, I can see the order. Let me check with DPD for you.",
        client_id="demo-agent-1",
    )
    return 2
