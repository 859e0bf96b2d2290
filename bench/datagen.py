"""Deterministic synthetic rows for the bulk loader, in the column order of loader.py's INSERTs.

Formats follow what Django writes on SQLite: UUIDs as 32 hex characters without dashes,
datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, booleans as 0/1, JSON as text.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loxodon.core.event_types import INTERNAL_KINDS  # plain module: no Django set-up

Row = tuple[object, ...]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HISTORY_DAYS = 3 * 365
HEAVY_EVENTS_EACH = 10_000
MAX_HEAVY = 10

FIRST_NAMES = (
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo", "Freya",
    "Oscar", "Lily", "Harry", "Grace", "Jack", "Sofia", "Charlie", "Ella", "Jacob", "Aisha",
    "Mohammed", "Priya", "Arjun", "Zofia", "Jan", "Chloe", "Luca", "Nia", "Owen",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Wright", "Robinson", "Wood", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
    "Hall", "Thomas", "Clarke", "Jackson", "Khan", "Lewis", "Hughes", "Kowalski", "Nowak",
    "Murphy", "Kelly", "Singh",
)  # fmt: skip
CITIES = ("London", "Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "Manchester", "York")

# (channel, kind, source, summary, body?)
EVENT_TYPES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("phone", "call", "bench-telephony", "Call about an order", False),
    ("phone", "call", "bench-telephony", "Call: product not working", False),
    ("ivr", "call", "bench-ivr", "IVR: checked order status", False),
    ("email", "message", "bench-mail", "Email: question about delivery", True),
    ("email", "message", "bench-mail", "Email: invoice query", True),
    ("chat", "chat", "bench-chat", "Chat with support", True),
    ("sms", "message", "bench-sms", "SMS: delivery update reply", True),
    ("web", "web_visit", "bench-web", "Visited the support pages", False),
    ("web", "web_search", "bench-web", "Searched the help centre", False),
    ("web", "order", "bench-shop", "Order placed", False),
    ("web", "return", "bench-shop", "Return requested", False),
    ("system", "shipment", "bench-erp", "Shipment dispatched", False),
    ("system", "invoice", "bench-erp", "Invoice issued", False),
    ("system", "warranty", "bench-erp", "Warranty registered", False),
    ("web", "survey", "bench-survey", "Satisfaction survey answered", False),
    ("in_person", "visit", "bench-store", "Visited a service centre", False),
    ("letter", "message", "bench-post", "Letter received", True),
    ("phone", "note", "bench-telephony", "Agent note after call", True),
)
ACTOR_CHANNELS = frozenset({"phone", "in_person", "chat"})
BODY = (
    "Hello, I am writing about my recent order. The parcel has not arrived yet and the "
    "tracking page has not changed for three days. Could you please check? Thanks."
)


def db_time(moment: datetime) -> str:
    """An aware datetime as Django stores it on SQLite: naive UTC text, with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Scale:
    """How many rows of each kind, and which customers are the heavy ones (1-based rowids)."""

    customers: int
    events: int
    heavy_rowids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = min(MAX_HEAVY, max(1, self.events // 100_000), max(1, self.customers // 10))
        step = max(1, self.customers // count)
        self.heavy_rowids = [1 + k * step for k in range(count)]

    @property
    def heavy_events_each(self) -> int:
        return min(HEAVY_EVENTS_EACH, self.events // (10 * len(self.heavy_rowids)))

    @property
    def heavy_share(self) -> float:
        return len(self.heavy_rowids) * self.heavy_events_each / self.events


class DataGenerator:
    """Generates every row from one seed, so two loads with the same scale are identical."""

    def __init__(self, scale: Scale, seed: int, now: datetime) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self.now = now
        self.site_ids = [self.new_id() for _ in range(3)]
        self.department_ids = [self.new_id() for _ in range(3)]
        self.staff_ids = [self.new_id() for _ in range(6)]
        self.customer_ids: list[str] = []
        self._heavy = frozenset(scale.heavy_rowids)

    def new_id(self) -> str:
        return self.rng.randbytes(16).hex()

    def event_id(self, at_us: int) -> str:
        """A UUIDv7 (time-ordered, like the model's default) for an event recorded at at_us."""
        value = (at_us // 1000) << 80 | self.rng.getrandbits(76)  # 48-bit ms, then random
        value = value & ~(0xF << 76) | 7 << 76  # version 7
        value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
        return f"{value:032x}"

    # --- organisation -------------------------------------------------------------------
    def sites(self) -> list[Row]:
        t = db_time(self.now - timedelta(days=2000))
        names = (("lon", "London"), ("man", "Manchester"), ("gla", "Glasgow"))
        return [
            (sid, t, t, code, f"{name} service centre", "Europe/London", "GB")
            for sid, (code, name) in zip(self.site_ids, names, strict=True)
        ]

    def departments(self) -> list[Row]:
        t = db_time(self.now - timedelta(days=2000))
        names = (("service", "Customer service"), ("repairs", "Repairs"), ("billing", "Billing"))
        return [
            (did, t, t, code, name)
            for did, (code, name) in zip(self.department_ids, names, strict=True)
        ]

    def staff(self) -> list[Row]:
        """(password, last_login, is_superuser, username, first, last, email, is_staff,
        is_active, date_joined, id, role, department_id, site_id)."""
        t = db_time(self.now - timedelta(days=1000))
        rows: list[Row] = []
        for n, uid in enumerate(self.staff_ids):
            role = "admin" if n == len(self.staff_ids) - 1 else "agent"
            username = "bench-admin" if role == "admin" else f"bench-agent-{n + 1:02d}"
            unusable = "!" + self.rng.randbytes(20).hex()  # like set_unusable_password()
            rows.append(
                (
                    unusable, None, 0, username, "Bench", f"Agent {n + 1}",
                    f"{username}@loxodon.localhost", int(role == "admin"), 1, t, uid, role,
                    self.department_ids[n % 3], self.site_ids[n % 3],
                )
            )  # fmt: skip
        return rows

    # --- customers ------------------------------------------------------------------------
    def customer_chunks(self, size: int) -> Iterator[tuple[list[Row], list[Row]]]:
        """(customers, identities) in chunks; rowid n is the n-th customer (1-based)."""
        n_total = self.scale.customers
        start = self.now - timedelta(days=5 * 365)
        step = (self.now - timedelta(days=HISTORY_DAYS) - start) / n_total
        for base in range(0, n_total, size):
            customers: list[Row] = []
            identities: list[Row] = []
            for n in range(base, min(base + size, n_total)):
                cid = self.new_id()
                self.customer_ids.append(cid)
                t = db_time(start + step * n)
                customers.append(self._customer(cid, n, t))
                identities.extend(self._identities(cid, n, t))
            yield customers, identities

    def _customer(self, cid: str, n: int, t: str) -> Row:
        """(id, created_at, updated_at, name, first, last, dob, street, city, postcode,
        country, account_id, home_site_id, profile_verified, profile_updated_at,
        profile_history, merged_into_id)."""
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        dob = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        postcode = f"{rng.choice('ELMBGS')}{rng.randint(1, 20)}{rng.randint(1, 9)}AB"
        street = f"{rng.randint(1, 200)} High Street"
        return (
            cid, t, t, f"{first} {last}", first, last, dob, street, rng.choice(CITIES),
            postcode, "GB", None, self.site_ids[n % 3], 0, None, "[]", None,
        )  # fmt: skip

    def _identities(self, cid: str, n: int, t: str) -> list[Row]:
        """Normalised as the services would: lower-case email, E.164 phone.
        (id, created_at, updated_at, kind, value, verified, source, customer_id, site_id)."""
        email = f"customer{n + 1}@example.com"
        phone = f"+447{400000000 + n:09d}"
        site = self.site_ids[n % 3]
        return [
            (self.new_id(), t, t, "email", email, 1, "bench", cid, site),
            (self.new_id(), t, t, "phone", phone, 0, "bench", cid, site),
        ]

    # --- cases ----------------------------------------------------------------------------
    def cases(self) -> list[Row]:
        """One open case for every 20th customer, three for each heavy one.
        (id, created, updated, problem, status, priority, resolution_summary, resolved_at,
        closed_reason, reopen_count, version, confirmation_event_id, customer_id,
        opened_by_id, owner_id, site_id)."""
        rowids = [*range(20, self.scale.customers + 1, 20), *self.scale.heavy_rowids * 3]
        rows: list[Row] = []
        for rowid in rowids:
            t = db_time(self.now - timedelta(days=self.rng.randint(1, 60)))
            owner = self.rng.choice(self.staff_ids[:-1])
            rows.append(
                (
                    self.new_id(), t, t, "My order arrived damaged and I want a replacement.",
                    "open", "normal", "", None, "", 0, 1, None, self.customer_ids[rowid - 1],
                    owner, owner, self.site_ids[rowid % 3],
                )
            )  # fmt: skip
        return rows

    # --- events ---------------------------------------------------------------------------
    def typical_rowid(self) -> int:
        """A random customer that is not one of the heavy ones."""
        for _ in range(100):
            rowid = self.rng.randrange(self.scale.customers) + 1
            if rowid not in self._heavy:
                return rowid
        raise RuntimeError("no typical customers: increase --customers")

    def event_chunks(self, size: int) -> Iterator[list[Row]]:
        """Events in time order (so table order interleaves customers, as in production).
        (id, occurred_at, recorded_at, channel, kind, internal, summary, body, payload,
        source, external_id, content_hash, actor_id, case_id, customer_id, site_id)."""
        total = self.scale.events
        first = self.now - timedelta(days=HISTORY_DAYS)
        step_us = HISTORY_DAYS * 86_400_000_000 // total
        first_us = int((first - EPOCH) / timedelta(microseconds=1))
        for base in range(0, total, size):
            yield [
                self._event(n, first_us + n * step_us + self.rng.randrange(step_us))
                for n in range(base, min(base + size, total))
            ]

    def _event(self, n: int, at_us: int) -> Row:
        rng = self.rng
        heavy = rng.random() < self.scale.heavy_share
        rowid = rng.choice(self.scale.heavy_rowids) if heavy else self.typical_rowid()
        channel, kind, source, summary, has_body = rng.choice(EVENT_TYPES)
        at = db_time(EPOCH + timedelta(microseconds=at_us))
        external_id = f"ev-{n:09d}"
        payload = f'{{"ref": "{kind[:3].upper()}-{n}", "amount": {n % 997}.50}}'
        actor = rng.choice(self.staff_ids[:-1]) if channel in ACTOR_CHANNELS else None
        return (
            self.event_id(at_us), at, at, channel, kind, int(kind in INTERNAL_KINDS), summary,
            BODY if has_body else "", payload, source, external_id,
            hashlib.sha256(external_id.encode()).hexdigest(), actor, None,
            self.customer_ids[rowid - 1], self.site_ids[n % 3] if actor else None,
        )  # fmt: skip
