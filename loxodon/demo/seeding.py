"""Load a realistic demo organisation: sites, staff, customers, a long timeline, assets, cases.

Everything is written through the apps' services, exactly as the API and desk write it; the only
shortcut is batching timeline ingest 1,000 events at a time (the API's own batch limit).
The whole load is one transaction: it either lands completely or not at all.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from loxodon.cases.models import Case, CaseStatus, Priority, Task
from loxodon.cases.services import (
    add_note,
    add_task,
    close_unconfirmed,
    complete_task,
    confirm_resolution,
    hand_off,
    open_case,
    propose_resolution,
    reopen_case,
    set_waiting,
)
from loxodon.customers.models import Account, Customer
from loxodon.customers.normalise import normalise_phone
from loxodon.customers.services import create_customer
from loxodon.demo import catalogue
from loxodon.demo.activity import activity_drafts
from loxodon.demo.centres import RECORDS as CENTRE_RECORDS
from loxodon.demo.centres import seed_centres
from loxodon.demo.channels import seed_channels
from loxodon.demo.knowledge import seed_knowledge
from loxodon.demo.portal import seed_portal
from loxodon.demo.standards import seed_standards
from loxodon.demo.stories import (
    STORIES,
    Story,
    create_story_assets,
    create_story_cases,
    story_event_drafts,
    story_live_drafts,
    story_plans,
)
from loxodon.demo.world import PASSWORD, DemoWorld, NoProgress, Person, PersonPlan, Progress
from loxodon.org.models import Department, Role, Site, User
from loxodon.org.services import create_department, create_site, create_staff
from loxodon.timeline.models import Asset, Event
from loxodon.timeline.services import EventDraft, ingest_events, record_event, register_asset

BATCH = 1000
STAFF_TOTAL = 60
BUSINESS_SHARE = 0.15
MIN_CUSTOMERS = 10

# (username, first name, last name, role, department, site): the logins the README prints and
# the people the stories need.
NAMED_STAFF: tuple[tuple[str, str, str, str, str | None, str], ...] = (
    ("admin", "Alex", "Morgan", Role.ADMIN, None, "london-city"),
    ("supervisor", "Grace", "Whitfield", Role.SUPERVISOR, "support-hardware", "leeds"),
    ("agent", "Tom", "Becker", Role.AGENT, "support-hardware", "manchester"),
    ("amelia.hughes", "Amelia", "Hughes", Role.AGENT, "sales-business", "leeds"),
    ("oliver.grant", "Oliver", "Grant", Role.AGENT, "sales-consumer", "leeds"),
    ("hannah.price", "Hannah", "Price", Role.AGENT, "finance", "london-city"),
    ("ravi.shah", "Ravi", "Shah", Role.AGENT, "support-software", "manchester"),
    ("ewan.mcleod", "Ewan", "McLeod", Role.AGENT, "support-hardware", "glasgow"),
    ("chloe.evans", "Chloe", "Evans", Role.AGENT, "parts", "birmingham"),
    ("marcus.doyle", "Marcus", "Doyle", Role.AGENT, "warranty", "birmingham"),
    ("lucy.barnes", "Lucy", "Barnes", Role.AGENT, "support-hardware", "york"),
    ("james.obrien", "James", "O'Brien", Role.AGENT, "support-software", "york"),
    ("sofia.rossi", "Sofia", "Rossi", Role.SUPERVISOR, "sales-business", "london-city"),
    ("nadia.karim", "Nadia", "Karim", Role.ADMIN, None, "london-city"),
)
LOGINS = ("admin", "supervisor", "agent")

# Ofcom's numbers reserved for drama: prefix (national format) + 3 digits, 1,000 per range.
DRAMA_PHONE_PREFIXES = (
    "07700 900",
    "01632 960",
    "020 7946 0",
    "0113 496 0",
    "0114 496 0",
    "0115 496 0",
    "0116 496 0",
    "0117 496 0",
    "0118 496 0",
    "0121 496 0",
    "0131 496 0",
    "0141 496 0",
    "0151 496 0",
    "0161 496 0",
    "0191 498 0",
    "029 2018 0",
)

# Share of generated cases in each status (every status appears at least once).
STATUS_WEIGHTS = {
    CaseStatus.NEW: 8,
    CaseStatus.OPEN: 20,
    CaseStatus.WAITING_ON_CUSTOMER: 12,
    CaseStatus.WAITING_ON_US: 12,
    CaseStatus.RESOLUTION_PROPOSED: 10,
    CaseStatus.RESOLVED_CONFIRMED: 28,
    CaseStatus.CLOSED_UNCONFIRMED: 10,
}


@dataclass(frozen=True)
class StoryCustomer:
    story: Story
    customer_id: str


@dataclass
class DemoSummary:
    sites: int = 0
    departments: int = 0
    staff: int = 0
    customers: int = 0
    accounts: int = 0
    events: int = 0
    assets: int = 0
    cases: int = 0
    articles: int = 0
    portal_logins: int = 0
    seconds: float = 0.0
    stories: list[StoryCustomer] = field(default_factory=list)
    centres: dict[str, int] = field(default_factory=dict)


# --- is the demo there? ---


def demo_data_present() -> bool:
    return Site.objects.filter(code__in=[t.code for t in catalogue.TOWNS]).exists()


def demo_counts() -> tuple[int, int]:
    """(customers, events) in the database; customers merged into another are not counted."""
    return Customer.objects.filter(merged_into__isnull=True).count(), Event.objects.count()


def clashing_usernames() -> list[str]:
    """Demo usernames already taken by someone (seeding would fail half-way)."""
    wanted = [s[0] for s in NAMED_STAFF]
    return sorted(User.objects.filter(username__in=wanted).values_list("username", flat=True))


def reset_database() -> None:
    """Empty the whole database, demo or not.

    Timeline events are append-only (their QuerySet refuses delete), so there is no honest way to
    remove "just the demo" through the services; a demo database is simply flushed.
    """
    call_command("flush", interactive=False, verbosity=0)


# --- the load ---


def seed_demo(
    *,
    customers: int = 5000,
    events: int = 100_000,
    seed: int = 42,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Build the whole demo organisation in one transaction and say what was made."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"the demo needs at least {MIN_CUSTOMERS} customers")
    if events < 0:
        raise ValueError("events must not be negative")
    started = time.monotonic()
    world = DemoWorld(
        rng=random.Random(seed),
        seed=seed,
        now=(now or timezone.now()).replace(microsecond=0),
    )
    report = progress or NoProgress()
    summary = DemoSummary()
    with transaction.atomic():
        _create_organisation(world, report)
        seed_standards(world)
        _create_customers(world, customers, report)
        summary.events = _ingest_events(world, events, report)
        summary.assets = _create_assets(world, report)
        summary.cases = _create_cases(world, report)
        report.phase("Knowledge base", 1)
        summary.articles = len(
            seed_knowledge(staff=world.staff, today=timezone.localdate(world.now)).articles
        )
        report.advance()
        summary.portal_logins = seed_portal(
            {key: person.customer for key, person in world.story_people.items()},
            {key: person.plan.email or "" for key, person in world.story_people.items()},
            PASSWORD,
        )
        # Written last, so that it is the newest thing on Margaret's timeline (the services
        # stamp assets and case work with the time they run).
        live = max(world.now, timezone.now())
        summary.events += _ingest(story_live_drafts(world, live), NoProgress())
        # Channels through their real adapters: the shop's widget and beacon, the phone system.
        summary.events += seed_channels(world, live)
        # Story 4: five centres' legacy exports imported, then linked into known customers.
        report.phase("Centre imports, linkage", 1)
        with tempfile.TemporaryDirectory(prefix="loxodon-centres-") as folder:
            summary.centres = seed_centres(Path(folder))
        report.advance()
    summary.sites = len(world.sites)
    summary.departments = len(world.departments)
    summary.staff = len(world.staff)
    summary.customers = len(world.people)
    summary.accounts = Account.objects.count()
    summary.seconds = time.monotonic() - started
    summary.stories = [
        StoryCustomer(story, str(world.story_people[story.key].customer.pk)) for story in STORIES
    ]
    return summary


# --- organisation: sites, departments, staff ---


def _create_organisation(world: DemoWorld, progress: Progress) -> None:
    progress.phase("Sites and staff", len(catalogue.TOWNS) + STAFF_TOTAL)
    for town in catalogue.TOWNS:
        world.sites[town.code] = create_site(
            code=town.code, name=town.name, time_zone=town.time_zone, country=town.country
        )
        progress.advance()
    existing = {d.code: d for d in Department.objects.all()}
    for code, name in catalogue.DEPARTMENTS:
        world.departments[code] = existing.get(code) or create_department(code=code, name=name)
    for username, first, last, role, department, site in NAMED_STAFF:
        _add_staff(world, username, first, last, role, department, site)
        progress.advance()
    codes = [code for code, _ in catalogue.DEPARTMENTS]
    n = 0
    while len(world.staff) < STAFF_TOTAL:
        first = world.rng.choice(catalogue.FIRST_NAMES)
        last = world.rng.choice(catalogue.LAST_NAMES)
        username = _slug(f"{first}.{last}", keep=".")
        if username in world.staff or User.objects.filter(username=username).exists():
            continue
        role = Role.SUPERVISOR if n < len(codes) else Role.AGENT
        department = codes[n % len(codes)]
        site = world.rng.choice(catalogue.TOWNS).code
        _add_staff(world, username, first, last, role, department, site)
        n += 1
        progress.advance()


def _add_staff(
    world: DemoWorld,
    username: str,
    first: str,
    last: str,
    role: str,
    department: str | None,
    site: str,
) -> None:
    world.staff[username] = create_staff(
        username=username,
        password=PASSWORD,
        role=role,
        site=world.sites[site],
        department=world.departments[department] if department else None,
        first_name=first,
        last_name=last,
        email=f"{username}@staff.loxodon.example",
    )


def _slug(text: str, keep: str = "") -> str:
    return re.sub(rf"[^a-z0-9{re.escape(keep)}]", "", text.lower())


# --- customers and business accounts ---


def _create_customers(world: DemoWorld, total: int, progress: Progress) -> None:
    progress.phase("Customers", total)
    stories = story_plans()
    phones = {normalise_phone(p.phone) for p in stories.values() if p.phone}
    phones |= {normalise_phone(r.phone) for r in CENTRE_RECORDS}  # story 4, imported later
    emails = {p.email for p in stories.values() if p.email}
    plans = _plan_customers(world, total - len(stories), phones, emails)
    for key, plan in stories.items():
        person = Person(plan, _create_customer(world, plan))
        world.story_people[key] = person
        world.people.append(person)
        progress.advance()
    for plan in plans:
        world.people.append(Person(plan, _create_customer(world, plan)))
        progress.advance()


def _create_customer(world: DemoWorld, plan: PersonPlan) -> Customer:
    return create_customer(
        name=plan.name,
        email=plan.email,
        phone=plan.phone,
        account_number=plan.account_number,
        account=plan.account,
        site=world.sites[plan.site_code],
        verified=plan.verified,
        date_of_birth=plan.date_of_birth,
        street=plan.street,
        city=plan.city,
        postcode=plan.postcode,
        source="demo",
    )


def _phone_pool(rng: random.Random, reserved: set[str]) -> list[str]:
    pool = [
        f"{prefix}{n:03d}"
        for prefix in DRAMA_PHONE_PREFIXES
        for n in range(1000)
        if normalise_phone(f"{prefix}{n:03d}") not in reserved
    ]
    rng.shuffle(pool)
    return pool


def _plan_customers(
    world: DemoWorld, n: int, reserved_phones: set[str], reserved_emails: set[str]
) -> list[PersonPlan]:
    """n customers; about 15% of them the contacts of business accounts."""
    rng = world.rng
    phones = _phone_pool(rng, reserved_phones)
    account_numbers = rng.sample(range(200_000, 1_000_000), n)
    used_emails = set(reserved_emails)
    used_accounts: set[str] = {"northwind haulage ltd"}
    plans: list[PersonPlan] = []

    n_business = round(n * BUSINESS_SHARE)
    while len(plans) < n_business:
        members = min(rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6)), n_business - len(plans))
        town = rng.choice(catalogue.TOWNS)
        name, industry = _account_name(rng, town, used_accounts)
        domain = _slug(name.rsplit(" ", 1)[0].replace(" ", "-"), keep="-") + ".example"
        people = []
        for _ in range(members):
            first, last = rng.choice(catalogue.FIRST_NAMES), rng.choice(catalogue.LAST_NAMES)
            email = _unique_email(f"{_slug(first)}.{_slug(last)}", domain, used_emails)
            role = rng.choice(catalogue.CONTACT_ROLES)
            people.append((first, last, email, role))
        street, postcode = _address(rng, town)
        account_spec: dict[str, Any] = {
            "name": name,
            "industry": industry,
            "size": rng.choice([s.value for s in Account.Size]),
            "notes": " ".join(rng.sample(catalogue.ACCOUNT_NOTES, 2)),
        }
        contacts = []
        for first, last, email, role in people:
            phone = phones.pop() if phones else None
            contacts.append(
                {
                    "name": f"{first} {last}",
                    "role": role,
                    "email": email,
                    "phone": normalise_phone(phone) if phone else "",
                }
            )
            plans.append(
                PersonPlan(
                    name=f"{first} {last}",
                    site_code=town.code,
                    email=email,
                    phone=phone,
                    account_number=f"AC{account_numbers[len(plans)]}",
                    street=street,
                    city=_city(town),
                    postcode=postcode,
                    account=account_spec,
                    verified=rng.random() < 0.9,
                )
            )
        account_spec["key_contacts"] = contacts

    while len(plans) < n:
        town = rng.choice(catalogue.TOWNS)
        first, last = rng.choice(catalogue.FIRST_NAMES), rng.choice(catalogue.LAST_NAMES)
        local = rng.choice(
            (
                f"{_slug(first)}.{_slug(last)}",
                f"{_slug(first)}{_slug(last)}",
                f"{_slug(first)[0]}.{_slug(last)}",
                f"{_slug(first)}_{_slug(last)}",
            )
        )
        domain = rng.choice(("example.com", "example.org", "example.net"))
        street, postcode = _address(rng, town)
        plans.append(
            PersonPlan(
                name=f"{first} {last}",
                site_code=town.code,
                email=_unique_email(local, domain, used_emails) if rng.random() < 0.92 else None,
                phone=phones.pop() if phones and rng.random() < 0.9 else None,
                account_number=f"AC{account_numbers[len(plans)]}",
                date_of_birth=_birthday(rng) if rng.random() < 0.85 else None,
                street=street,
                city=_city(town),
                postcode=postcode,
                verified=rng.random() < 0.9,
            )
        )
    return plans


def _account_name(rng: random.Random, town: catalogue.Town, used: set[str]) -> tuple[str, str]:
    """A business name not used yet, and its industry."""
    form = catalogue.LEGAL_FORMS[town.country]
    for attempt in range(1000):
        prefix = rng.choice(catalogue.BUSINESS_PREFIXES)
        trade, industry = rng.choice(catalogue.BUSINESS_TRADES)
        where = f" ({_city(town)})" if attempt >= 20 else ""  # plain names are running out
        number = f" {attempt}" if attempt >= 500 else ""
        name = f"{prefix} {trade}{where}{number} {form}"
        if name.lower() not in used:
            used.add(name.lower())
            return name, industry
    raise RuntimeError("ran out of business names")


def _unique_email(local: str, domain: str, used: set[str]) -> str:
    email = f"{local}@{domain}"
    n = 1
    while email in used:
        n += 1
        email = f"{local}{n}@{domain}"
    used.add(email)
    return email


def _city(town: catalogue.Town) -> str:
    return town.name.split(" (")[0]


def _address(rng: random.Random, town: catalogue.Town) -> tuple[str, str]:
    street = (
        f"{rng.randint(1, 180)} {rng.choice(catalogue.STREET_NAMES)} "
        f"{rng.choice(catalogue.STREET_TYPES)}"
    )
    area = town.postcode_area
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    if town.country == "GB":
        postcode = (
            f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}"
            f"{rng.choice(letters)}{rng.choice(letters)}"
        )
    elif town.country == "IE":
        postcode = f"{area}{rng.randint(1, 9) if len(area) == 2 else ''} " + "".join(
            rng.choice("ACDEFHKNPRTVWXY0123456789") for _ in range(4)
        )
    elif town.country == "NL":
        postcode = f"{area}{rng.randint(0, 9)} {rng.choice(letters)}{rng.choice(letters)}"
    else:
        postcode = f"{area}{rng.randint(10, 99)}"
    return street, postcode


def _birthday(rng: random.Random) -> date:
    return date(1940, 1, 1) + timedelta(days=rng.randint(0, 65 * 365))


def _generic_people(world: DemoWorld) -> list[Person]:
    """Everyone but the story customers (their histories are written by hand)."""
    story = {id(p) for p in world.story_people.values()}
    return [p for p in world.people if id(p) not in story]


# --- the timeline ---


def _ingest_events(world: DemoWorld, total: int, progress: Progress) -> int:
    stories = story_event_drafts(world)
    generic = max(0, total - len(stories))
    others = _generic_people(world)
    progress.phase("Timeline events", len(stories) + generic)
    created = _ingest(stories, progress)
    batch: list[EventDraft] = []
    for draft in activity_drafts(world, others, generic):
        batch.append(draft)
        if len(batch) == BATCH:
            created += _ingest(batch, progress)
            batch = []
    if batch:
        created += _ingest(batch, progress)
    return created


def _ingest(drafts: list[EventDraft], progress: Progress) -> int:
    results = ingest_events(drafts)
    progress.advance(len(drafts))
    return sum(1 for r in results if r.created)


# --- installed products ---


def _create_assets(world: DemoWorld, progress: Progress) -> int:
    rng = world.rng
    plan: list[tuple[Person, int]] = []
    for person in _generic_people(world):
        if person.business and rng.random() < 0.8:
            plan.append((person, rng.randint(1, 4)))
        elif not person.business and rng.random() < 0.5:
            plan.append((person, rng.choice((1, 1, 1, 2, 2, 3))))
    progress.phase("Installed products", sum(n for _, n in plan) + 2)
    create_story_assets(world)
    progress.advance(2)
    products = [p for p in catalogue.PRODUCTS if p.serial_prefix]
    older = [p for p in products if set(p.os) & set(catalogue.DISCONTINUED_OS)]
    current = [p for p in products if p not in older]
    serial = 0
    for person, count in plan:
        for _ in range(count):
            serial += 1
            refurbished = rng.random() < 0.15
            # Refurbished units are mostly older models, some still on a discontinued OS.
            product = rng.choice(older if refurbished and rng.random() < 0.7 else current)
            os = ""
            if product.os:
                on_old_os = refurbished and product in older and rng.random() < 0.5
                modern = [o for o in product.os if o not in catalogue.DISCONTINUED_OS]
                os = product.os[0] if on_old_os or not modern else rng.choice(modern)
            years = 1 if refurbished else rng.choice((1, 2, 3))
            if rng.random() < 0.03:  # a warranty about to run out: the 360 view warns
                warranty_until = world.today + timedelta(days=rng.randint(1, 30))
                purchased = warranty_until - timedelta(days=365 * years)
            else:
                purchased = world.today - timedelta(days=rng.randint(10, 4 * 365))
                warranty_until = purchased + timedelta(days=365 * years)
            register_asset(
                customer=person.customer,
                product=product.name,
                serial=f"{product.serial_prefix}{(serial * 7919 + 104_729) % 10**7:07d}",
                purchased_at=purchased,
                refurbished=refurbished,
                os=os,
                warranty_until=warranty_until,
                site=world.sites[person.plan.site_code],
            )
            progress.advance()
    return Asset.objects.count()


# --- cases ---


def _create_cases(world: DemoWorld, progress: Progress) -> int:
    rng = world.rng
    statuses = list(STATUS_WEIGHTS)
    n = max(2 * len(statuses), len(world.people) // 12)
    wanted = statuses + rng.choices(
        statuses, weights=list(STATUS_WEIGHTS.values()), k=n - len(statuses)
    )
    others = _generic_people(world)
    progress.phase("Cases", n + 3)
    create_story_cases(world)
    progress.advance(3)
    for status in wanted:
        _build_case(world, rng.choice(others), status)
        progress.advance()
    return Case.objects.count()


@contextmanager
def _at_the_time(world: DemoWorld, start: datetime) -> Iterator[Callable[[float, float], None]]:
    """Build a past case at its own moment in the story.

    The services stamp what they write with Django's clock (`timezone.now()`, also behind the
    `auto_now` fields). While a generic demo case is built, that clock reads `start`, moved on
    by `later(min_hours, max_hours)` between the steps, never past the demo's "now". This is
    the demo's replay of history only; nothing else changes the clock.
    """
    current = [start]
    latest = world.now - timedelta(minutes=5)

    def later(min_hours: float, max_hours: float) -> None:
        step = timedelta(hours=world.rng.uniform(min_hours, max_hours))
        current[0] = min(current[0] + step, latest)

    with mock.patch.object(timezone, "now", lambda: current[0]):
        yield later


def _build_case(world: DemoWorld, person: Person, status: str) -> Case:
    """A case brought to `status` the way people would get it there, through the services,
    at the time it happened: closed cases over the last year, open ones in the last weeks."""
    rng = world.rng
    finished = status in (CaseStatus.RESOLVED_CONFIRMED, CaseStatus.CLOSED_UNCONFIRMED)
    days_ago = rng.uniform(14, 330) if finished else rng.uniform(0.5, 20)
    with _at_the_time(world, world.now - timedelta(days=days_ago)) as later:
        return _build_case_steps(world, person, status, later)


def _build_case_steps(
    world: DemoWorld, person: Person, status: str, later: Callable[[float, float], None]
) -> Case:
    rng = world.rng
    problem, work = rng.choice(catalogue.CASE_TEMPLATES)
    priority = rng.choices(list(Priority.values), weights=(2, 6, 2, 1))[0]
    site = world.sites[person.plan.site_code]
    if status == CaseStatus.NEW:
        opener = world.pick_frontline()
        case = open_case(
            customer=person.customer, problem=problem, actor=opener, priority=priority, site=site
        )
        add_note(case=case, body="Logged from a voicemail; needs an owner.", actor=opener)
        return case

    owner = world.pick_frontline()
    case = open_case(
        customer=person.customer,
        problem=problem,
        actor=owner,
        owner=owner,
        priority=priority,
        site=site,
    )
    if rng.random() < 0.85:  # the owner calls the customer back (the first response)
        later(0.1, 5)
        record_event(
            customer_id=person.customer.pk,
            kind="call",
            channel="phone",
            summary=f"Call to {person.first_name}: agreed the next steps",
            actor=owner,
            case_id=case.pk,
            site=site,
            payload={"direction": "outbound"},
        )
    tasks: list[Task] = []
    for department, title in work:
        later(0.05, 0.5)
        assignee = world.pick_staff(department)
        tasks.append(
            add_task(
                case=case,
                department=world.departments[department],
                title=title,
                actor=owner,
                assignee=assignee,
            )
        )
    for task in tasks:
        if rng.random() < 0.5:
            later(1, 20)
            add_note(case=case, body=rng.choice(catalogue.NOTE_LINES), actor=task.assignee)
    if rng.random() < 0.2:
        later(1, 30)
        receiver = world.pick_frontline()
        if receiver.pk != owner.pk:
            hand_off(
                case=case,
                to=receiver,
                context=f"{person.customer.name}: {problem} "
                "Tasks are under way; the customer prefers email. Please keep them updated.",
                actor=owner,
            )
            owner = receiver

    def finish(some: list[Task]) -> None:
        for task in some:
            later(4, 72)
            complete_task(task=task, note="Done.", actor=task.assignee)

    if status == CaseStatus.OPEN:
        if rng.random() < 0.25:  # solved, confirmed, then the problem came back
            finish(tasks)
            later(12, 96)
            confirm_resolution(case=case, via="phone", actor=owner)
            later(24, 240)
            reopen_case(case=case, reason="Customer called: the problem is back.", actor=owner)
            add_task(
                case=case,
                department=world.departments[work[0][0]],
                title="Look again: problem returned",
                actor=owner,
                assignee=world.pick_staff(work[0][0]),
            )
        else:
            finish(tasks[: rng.randint(0, len(tasks) - 1)])
    elif status in (CaseStatus.WAITING_ON_CUSTOMER, CaseStatus.WAITING_ON_US):
        finish(tasks[: rng.randint(0, len(tasks) - 1)])
        on, reasons = (
            ("customer", catalogue.WAITING_ON_CUSTOMER_REASONS)
            if status == CaseStatus.WAITING_ON_CUSTOMER
            else ("us", catalogue.WAITING_ON_US_REASONS)
        )
        later(1, 48)
        set_waiting(case=case, on=on, actor=owner, reason=rng.choice(reasons))
    else:
        finish(tasks)  # the last task proposes the resolution; only the customer confirms
        if not tasks:
            propose_resolution(case=case, summary="Fixed on the first call.", actor=owner)
        later(12, 120)
        if status == CaseStatus.RESOLVED_CONFIRMED:
            via = rng.choice(("phone", "email", "sms", "web"))
            confirm_resolution(case=case, via=via, actor=owner)
        elif status == CaseStatus.CLOSED_UNCONFIRMED:
            close_unconfirmed(
                case=case, reason=rng.choice(catalogue.CLOSE_UNCONFIRMED_REASONS), actor=owner
            )
    return case


def story_lines(stories: list[StoryCustomer]) -> list[str]:
    return [
        f"Story {s.story.number}: {s.story.name} ({s.story.account_number}) — "
        f"{s.story.headline}. Customer id {s.customer_id}"
        for s in stories
    ]
