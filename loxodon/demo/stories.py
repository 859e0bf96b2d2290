"""The three story situations from STORIES.md, each on a named customer.

1. Priya Raman of Northwind Haulage Ltd configured laptops on the web and has just phoned
   business sales; the model is sold by the consumer line.
2. Daniel Okafor's laptop will not power on: one case, one owner, four department tasks.
3. Margaret Ellis has a refurbished laptop on Windows 7 and the IVR has just verified her.

Every write goes through the apps' services, like everything else the demo does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loxodon.cases.models import Case, Priority, Task
from loxodon.cases.services import (
    add_note,
    add_task,
    complete_task,
    open_case,
)
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.demo.world import SOURCE, DemoWorld, Person, PersonPlan
from loxodon.timeline.services import EventDraft, register_asset


@dataclass(frozen=True)
class Story:
    number: int
    key: str
    name: str
    account_number: str
    headline: str


STORIES: tuple[Story, ...] = (
    Story(
        1,
        "priya",
        "Priya Raman",
        "AC100001",
        "Northwind Haulage Ltd: configured 12 x ProBook 450 G10 (32GB, 1TB) on the web, then "
        "phoned business sales; open case owned by amelia.hughes with tasks for consumer sales "
        "and finance",
    ),
    Story(
        2,
        "daniel",
        "Daniel Okafor",
        "AC100002",
        '"My laptop will not power on": one owner (agent), four department tasks (software, '
        "hardware, parts, warranty), two done, two open",
    ),
    Story(
        3,
        "margaret",
        "Margaret Ellis",
        "AC100003",
        "refurbished EliteBook 840 G3 on Windows 7; the IVR has just verified her account "
        '(intent "driver support"); earlier calls got different answers',
    ),
)

# Story phone numbers, kept out of the pool handed to generated customers.
STORY_PHONES = {"priya": "0113 496 0001", "daniel": "0161 496 0002", "margaret": "07700 900003"}

NORTHWIND = {
    "name": "Northwind Haulage Ltd",
    "industry": "Haulage & logistics",
    "size": "medium",
    "key_contacts": [
        {
            "name": "Priya Raman",
            "role": "Operations manager",
            "email": "priya.raman@northwind-haulage.example",
            "phone": "+441134960001",
        },
        {
            "name": "Tom Whitaker",
            "role": "Finance director",
            "email": "tom.whitaker@northwind-haulage.example",
            "phone": "+441134960002",
        },
    ],
    "notes": (
        "14 depots across the North of England; buys laptops for depot supervisors in batches. "
        "Pays by invoice on 30-day terms: orders over £5,000 need finance approval. "
        "Was passed between four departments on a previous purchase and nearly went elsewhere."
    ),
}


def story_plans() -> dict[str, PersonPlan]:
    return {
        "priya": PersonPlan(
            name="Priya Raman",
            site_code="leeds",
            email="priya.raman@northwind-haulage.example",
            phone=STORY_PHONES["priya"],
            account_number="AC100001",
            street="Unit 4, Stourton Park, Pontefract Road",
            city="Leeds",
            postcode="LS10 1AB",
            account=NORTHWIND,
        ),
        "tom": PersonPlan(
            name="Tom Whitaker",
            site_code="leeds",
            email="tom.whitaker@northwind-haulage.example",
            phone="0113 496 0002",
            street="Unit 4, Stourton Park, Pontefract Road",
            city="Leeds",
            postcode="LS10 1AB",
            account=NORTHWIND,
        ),
        "daniel": PersonPlan(
            name="Daniel Okafor",
            site_code="manchester",
            email="daniel.okafor@example.com",
            phone=STORY_PHONES["daniel"],
            account_number="AC100002",
            date_of_birth=date(1986, 4, 17),
            street="27 Wilmslow Road",
            city="Manchester",
            postcode="M14 5TQ",
        ),
        "margaret": PersonPlan(
            name="Margaret Ellis",
            site_code="york",
            email="margaret.ellis@example.org",
            phone=STORY_PHONES["margaret"],
            account_number="AC100003",
            date_of_birth=date(1951, 9, 2),
            street="8 Bootham Crescent",
            city="York",
            postcode="YO30 7AH",
        ),
    }


def find_story_customers() -> list[tuple[Story, Customer | None]]:
    """The story customers in the database, found by their account numbers."""
    by_number = {
        i.value: i.customer
        for i in Identity.objects.select_related("customer").filter(
            kind=IdentityKind.ACCOUNT_NUMBER, value__in=[s.account_number for s in STORIES]
        )
    }
    return [(story, by_number.get(story.account_number)) for story in STORIES]


class _Timeline:
    """Collects a story customer's events with stable external ids."""

    def __init__(self, world: DemoWorld, key: str, person: Person) -> None:
        self.world = world
        self.key = key
        self.person = person
        self.drafts: list[EventDraft] = []

    def add(
        self,
        at: datetime,
        channel: str,
        kind: str,
        summary: str,
        *,
        body: str = "",
        payload: dict[str, Any] | None = None,
        site: str | None = None,
        actor: str | None = None,
    ) -> None:
        n = len(self.drafts)
        self.drafts.append(
            EventDraft(
                source=SOURCE,
                external_id=f"{self.world.seed}-story-{self.key}-{n}",
                channel=channel,
                kind=kind,
                occurred_at=at,
                summary=summary,
                body=body,
                payload=payload or {},
                customer_id=self.person.customer.pk,
                site=site,
                actor=actor,
            )
        )


def story_event_drafts(world: DemoWorld) -> list[EventDraft]:
    """The story customers' histories, covering every channel and every kind between them."""
    people = world.story_people

    def day(days_ago: int, clock: str) -> datetime:
        hour, minute = (int(x) for x in clock.split(":"))
        return (world.now - timedelta(days=days_ago)).replace(hour=hour, minute=minute, second=0)

    def ago(minutes: int) -> datetime:
        return world.now - timedelta(minutes=minutes)

    priya = _Timeline(world, "priya", people["priya"])
    priya.add(
        day(240, "10:20"),
        "phone",
        "order",
        "Order SO-310442: 6 x EliteBook 840 G8 (GBP 6,894)",
        payload={
            "order_number": "SO-310442",
            "lines": [{"product": "EliteBook 840 G8", "quantity": 6, "unit_price": 1149}],
            "total": 6894,
            "currency": "GBP",
            "placed_via": "phone",
        },
        site="leeds",
        actor="amelia.hughes",
    )
    priya.add(
        day(237, "14:05"),
        "system",
        "shipment",
        "Order SO-310442 delivered by Own fleet",
        payload={"order_number": "SO-310442", "carrier": "Own fleet", "status": "delivered"},
    )
    priya.add(
        day(236, "09:00"),
        "letter",
        "invoice",
        "Invoice INV-610877 for order SO-310442: GBP 6,894 (30 days)",
        payload={
            "invoice_number": "INV-610877",
            "order_number": "SO-310442",
            "amount": 6894,
            "currency": "GBP",
            "terms_days": 30,
        },
    )
    priya.add(
        day(228, "19:42"),
        "email",
        "survey",
        "Survey (sales): satisfaction 2/5, effort 6/7, would buy again: maybe",
        body="Took an hour and four transfers to place the order.",
        payload={
            "touchpoint": "sales",
            "satisfaction": 2,
            "effort": 6,
            "intent": "maybe",
            "comment": "Took an hour and four transfers to place the order.",
        },
    )
    priya.add(ago(41), "web", "web_visit", "Visited /business", payload={"path": "/business"})
    priya.add(
        ago(38),
        "web",
        "web_search",
        'Searched the website for "probook 450 g10 32gb"',
        payload={"query": "probook 450 g10 32gb", "results": 3},
    )
    priya.add(
        ago(31),
        "web",
        "web_configuration",
        "Configured ProBook 450 G10, 32GB, 1TB on the web (12 units)",
        payload={
            "product": "ProBook 450 G10",
            "configuration": "ProBook 450 G10, 32GB, 1TB",
            "memory_gb": 32,
            "storage": "1TB SSD",
            "quantity": 12,
            "unit_price": 1049,
            "currency": "GBP",
            "basket_id": "WB-20417",
        },
    )
    priya.add(
        ago(6),
        "phone",
        "call",
        "Call to business sales: wants to buy the ProBook 450 G10 configured on the web",
        body="Priya wants the 12 laptops she configured today on Northwind's account, invoiced "
        "on 30-day terms. The model is sold by the consumer line.",
        payload={
            "direction": "inbound",
            "queue": "sales-business",
            "caller_number": "+441134960001",
            "identified_by": "account_number",
            "duration_seconds": 420,
        },
        site="leeds",
        actor="amelia.hughes",
    )

    daniel = _Timeline(world, "daniel", people["daniel"])
    daniel.add(
        day(300, "21:37"),
        "web",
        "order",
        "Order SO-318020: EliteBook 840 G8 (GBP 1,149)",
        payload={
            "order_number": "SO-318020",
            "lines": [{"product": "EliteBook 840 G8", "quantity": 1, "unit_price": 1149}],
            "total": 1149,
            "currency": "GBP",
            "placed_via": "web",
        },
    )
    daniel.add(
        day(298, "11:50"),
        "system",
        "shipment",
        "Order SO-318020 delivered by DPD",
        payload={"order_number": "SO-318020", "carrier": "DPD", "status": "delivered"},
    )
    daniel.add(
        day(300, "21:39"),
        "email",
        "invoice",
        "Invoice INV-618331 for order SO-318020: GBP 1,149",
        payload={"invoice_number": "INV-618331", "amount": 1149, "currency": "GBP"},
    )
    daniel.add(
        day(290, "18:03"),
        "web",
        "return",
        "Return RMA-512004: USB-C Dock G5 (not compatible)",
        payload={
            "return_number": "RMA-512004",
            "order_number": "SO-318020",
            "reason": "not compatible",
            "lines": [{"product": "USB-C Dock G5"}],
        },
    )
    daniel.add(
        day(12, "09:14"),
        "phone",
        "call",
        "Call: laptop will not power on",
        body="No lights, no fan, nothing on mains or battery. Opened one case; hardware owns it.",
        payload={"direction": "inbound", "queue": "support-hardware", "duration_seconds": 900},
        site="manchester",
        actor="agent",
    )
    daniel.add(
        day(9, "13:31"),
        "chat",
        "chat",
        "Web chat: any news on my laptop?",
        body="Customer: Any news on my laptop?\nAgent: Yes — the BIOS update is done and a new "
        "power supply is on its way. Tom Becker is your contact for all of it.",
        payload={"visitor_id": "v-daniel-okafor", "messages": 6},
        actor="oliver.grant",
    )
    daniel.add(
        day(5, "16:00"),
        "sms",
        "message",
        "SMS: your replacement power supply has been dispatched",
        body="Your replacement power supply has been dispatched with DPD.",
        payload={"direction": "outbound"},
    )
    daniel.add(
        day(2, "20:12"),
        "email",
        "message",
        "Email from customer: still not working",
        body="Hi, the new charger arrived and the light comes on, but the laptop still will "
        "not start. Daniel",
        payload={"direction": "inbound", "subject": "Still not working"},
    )

    margaret = _Timeline(world, "margaret", people["margaret"])
    margaret.add(
        day(245, "11:25"),
        "in_person",
        "order",
        "Order SO-309118: refurbished EliteBook 840 G3 (GBP 329)",
        payload={
            "order_number": "SO-309118",
            "lines": [
                {"product": "EliteBook 840 G3", "quantity": 1, "unit_price": 329},
            ],
            "refurbished": True,
            "total": 329,
            "currency": "GBP",
            "placed_via": "in_person",
        },
        site="york",
        actor="lucy.barnes",
    )
    margaret.add(
        day(245, "11:10"),
        "in_person",
        "visit",
        "Visited the York service centre: bought a refurbished laptop",
        payload={"reason": "bought a refurbished laptop"},
        site="york",
        actor="lucy.barnes",
    )
    margaret.add(
        day(244, "08:00"),
        "system",
        "warranty",
        "12-month refurbished warranty registered for EliteBook 840 G3",
        payload={
            "product": "EliteBook 840 G3",
            "serial": "5CG6417MEL",
            "plan": "12-month refurbished warranty",
            "starts_on": day(245, "11:25").date().isoformat(),
            "warranty_until": (day(245, "11:25") + timedelta(days=365)).date().isoformat(),
            "refurbished": True,
            "purchased_at": day(245, "11:25").date().isoformat(),
            "os": "Windows 7 Professional",
        },
    )
    margaret.add(
        day(243, "07:30"),
        "letter",
        "message",
        "Letter: warranty certificate",
        body="Your refurbished EliteBook 840 G3 is covered for 12 months.",
        payload={"direction": "outbound"},
    )
    margaret.add(
        day(95, "10:48"),
        "phone",
        "call",
        "Call: are refurbished laptops supported for drivers?",
        body="Told by hardware: yes, all refurbished units get driver support.",
        payload={"direction": "inbound", "queue": "support-hardware", "duration_seconds": 480},
        site="york",
        actor="lucy.barnes",
    )
    margaret.add(
        day(41, "15:22"),
        "phone",
        "call",
        "Call: printer driver for Windows 7",
        body="Told by software: Windows 7 is discontinued and not supported. Customer upset: "
        "'your colleague told me the opposite'.",
        payload={"direction": "inbound", "queue": "support-software", "duration_seconds": 660},
        site="york",
        actor="james.obrien",
    )
    return priya.drafts + daniel.drafts + margaret.drafts


def story_live_drafts(world: DemoWorld, at: datetime) -> list[EventDraft]:
    """What is happening right now, written last so it is the newest thing on the timeline:
    Margaret Ellis is in the IVR, which has just verified her account."""
    margaret = _Timeline(world, "margaret-live", world.story_people["margaret"])
    margaret.add(
        at,
        "ivr",
        "call",
        "IVR: account AC100003 verified, intent: driver support",
        payload={
            "account_number_entered": "AC100003",
            "verified": True,
            "intent": "driver support",
            "menu_path": ["2", "1"],
            "caller_number": "+447700900003",
        },
    )
    return margaret.drafts


def create_story_assets(world: DemoWorld) -> None:
    today = world.today
    daniel = world.story_people["daniel"].customer
    bought = today - timedelta(days=300)
    register_asset(
        customer=daniel,
        product="EliteBook 840 G8",
        serial="5CG1304DOK",
        purchased_at=bought,
        os="Windows 11 Pro",
        warranty_until=bought + timedelta(days=3 * 365),
        site=world.sites["manchester"],
    )
    # Margaret's refurbished laptop is registered by its warranty event (see her timeline).


def create_story_cases(world: DemoWorld) -> dict[str, Case]:
    staff = world.staff
    depts = world.departments

    # Story 1: one owner from the first touch; consumer sales and finance work under the case.
    amelia = staff["amelia.hughes"]
    northwind = open_case(
        customer=world.story_people["priya"].customer,
        problem="I configured 12 ProBook 450 G10 laptops (32GB, 1TB) on your website and want "
        "to buy them today on our business account, on our usual invoice terms.",
        actor=amelia,
        owner=amelia,
        priority=Priority.HIGH,
        site=world.sites["leeds"],
    )
    add_task(
        case=northwind,
        department=depts["sales-consumer"],
        title="Place the order for 12 x ProBook 450 G10, 32GB, 1TB (consumer-line model) "
        "on Northwind's account",
        actor=amelia,
        assignee=staff["oliver.grant"],
    )
    add_task(
        case=northwind,
        department=depts["finance"],
        title="Approve 30-day invoice terms for the GBP 12,588 order",
        actor=amelia,
        assignee=staff["hannah.price"],
    )
    add_note(
        case=northwind,
        body="Priya identified by account AC100001; her web configuration from half an hour "
        "ago is on the timeline. Consumer sales places the order, finance approves the terms. "
        "I stay the owner and call Priya back when both are done — no transfers.",
        actor=amelia,
    )

    # Story 2: four departments, one case, one owner; half the work done.
    owner = staff["agent"]
    laptop = open_case(
        customer=world.story_people["daniel"].customer,
        problem="My laptop will not power on.",
        actor=owner,
        owner=owner,
        priority=Priority.HIGH,
        site=world.sites["manchester"],
    )
    work = [
        ("support-software", "BIOS update", "ravi.shah"),
        ("support-hardware", "New power supply", "ewan.mcleod"),
        ("parts", "New battery", "chloe.evans"),
        ("warranty", "Warranty replacement part", "marcus.doyle"),
    ]
    tasks: list[Task] = [
        add_task(
            case=laptop,
            department=depts[code],
            title=title,
            actor=owner,
            assignee=staff[username],
        )
        for code, title, username in work
    ]
    complete_task(
        task=tasks[0],
        note="Flashed BIOS 01.14.00 from a recovery key: no change, so it is not firmware.",
        actor=staff["ravi.shah"],
    )
    complete_task(
        task=tasks[1],
        note="Replaced the 65W USB-C adapter: the charge light now comes on, but it still "
        "will not boot. Points at the battery.",
        actor=staff["ewan.mcleod"],
    )
    add_note(
        case=laptop,
        body="Parts: 3-cell 53Wh battery ordered from the supplier, due Thursday.",
        actor=staff["chloe.evans"],
    )
    add_note(
        case=laptop,
        body="Warranty: unit covered until "
        f"{(world.today + timedelta(days=3 * 365 - 300)).isoformat()}; the replacement "
        "battery is approved under warranty at no charge.",
        actor=staff["marcus.doyle"],
    )
    add_note(
        case=laptop,
        body="Owner: Daniel emailed that it still won't start. I've told him I'm his one "
        "contact and will confirm with him once the battery is fitted.",
        actor=owner,
    )

    return {"priya": northwind, "daniel": laptop}
