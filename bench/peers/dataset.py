"""The same customers, cases and follow-ups for Loxodon and for django-helpdesk.

An adapter over bench/datagen.py (which it does not change): the customers, their identities,
the organisation and the background events of every channel come from DataGenerator; this
module adds `tickets` cases spread over the typical customers (about four each), each with one
to five follow-ups. Loxodon gets them as cases with case events (public replies as email
messages, private ones as agent notes) on the customer's timeline, beside the background events
of every channel; django-helpdesk gets the same cases as tickets (submitter_email = the
customer's email; one queue per department) and the same follow-ups. The helpdesk side is
written to a JSON-lines file that bench/peers/hd_load.py reads in the peer's virtualenv.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO

from bench.datagen import BODY, EPOCH, DataGenerator, Row, Scale, db_time
from bench.loader import INSERT
from loxodon.core.event_types import INTERNAL_KINDS

TICKETS_PER_CUSTOMER = 4
EVENTS_PER_CUSTOMER = 5  # background events of every channel, beside the cases' own
CUSTOMER_CHUNK = 20_000
ROW_CHUNK = 50_000

PROBLEMS = (
    ("Parcel not delivered", "My parcel has not arrived and tracking has not moved for a week."),
    ("Damaged on arrival", "My order arrived damaged and I want a replacement."),
    ("Invoice is wrong", "The invoice charges me twice for the same delivery."),
    ("Laptop will not start", "The laptop I bought last month will not switch on any more."),
    ("Refund not received", "I returned the item three weeks ago and have not had my refund."),
    ("Change delivery address", "Please deliver my next order to my work address instead."),
    ("Warranty repair", "The screen flickers; it is under warranty, please book a repair."),
    ("Cannot sign in", "I cannot sign in to my account since the password reset."),
)
REPLY = "Thank you, we have checked this with the warehouse and will update you tomorrow."
NOTE = "Called the customer back; waiting for the carrier's answer before replying."


def hd_time(db_text: str) -> str:
    """A db_time() string (naive UTC) as an ISO datetime with its offset, for the helpdesk."""
    return datetime.fromisoformat(db_text).replace(tzinfo=UTC).isoformat()


@dataclass
class PeerScale:
    tickets: int
    customers: int = 0
    events: int = 0

    def __post_init__(self) -> None:
        self.customers = max(200, self.tickets // TICKETS_PER_CUSTOMER)
        self.events = EVENTS_PER_CUSTOMER * self.customers


@dataclass
class Fixture:
    """What the measurements need to know about the generated data."""

    scale: PeerScale
    heavy_rowids: list[int]
    emails: dict[int, str] = field(default_factory=dict)  # rowid → email (customers with cases)
    customer_ids: dict[int, str] = field(default_factory=dict)  # rowid → Loxodon id (hex)
    tickets_of: dict[int, list[int]] = field(default_factory=dict)  # rowid → ticket ids
    followups: int = 0
    case_events: int = 0


def _email(rowid: int) -> str:
    return f"customer{rowid}@example.com"  # as DataGenerator._identities writes it


def _insert_sql(table: str) -> str:
    columns = INSERT[table]
    marks = ", ".join("?" for _ in columns.split(","))
    return f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'


class PeerData:
    """Generates both systems' rows in one pass; writes Loxodon's rows to an open SQLite
    connection (migrated schema) and the helpdesk's to a JSON-lines file."""

    def __init__(self, tickets: int, seed: int, now: datetime) -> None:
        self.scale = PeerScale(tickets)
        self.gen = DataGenerator(Scale(self.scale.customers, self.scale.events), seed, now)
        self.fixture = Fixture(self.scale, list(self.gen.scale.heavy_rowids))

    def write(self, conn: sqlite3.Connection, helpdesk: IO[str]) -> Fixture:
        gen = self.gen
        header = {
            "staff": ["bench-agent", *(f"agent-{n}" for n in range(1, 6))],
            "queues": [
                ["service", "Customer service"],
                ["repairs", "Repairs"],
                ["billing", "Billing"],
            ],
        }
        helpdesk.write(json.dumps(header) + "\n")
        self._many(conn, "org_site", gen.sites())
        self._many(conn, "org_department", gen.departments())
        self._many(conn, "org_user", gen.staff())
        for customers, identities in gen.customer_chunks(CUSTOMER_CHUNK):
            conn.execute("BEGIN")
            conn.executemany(_insert_sql("customers_customer"), customers)
            conn.executemany(_insert_sql("customers_identity"), identities)
            conn.execute("COMMIT")
        cases: list[Row] = []
        events: list[Row] = []
        for case, case_events, lines in self._tickets():
            cases.append(case)
            events.extend(case_events)
            helpdesk.writelines(lines)
            if len(cases) + len(events) >= ROW_CHUNK:
                self._flush(conn, cases, events)
        self._flush(conn, cases, events)
        for rows in gen.event_chunks(ROW_CHUNK):
            self._many(conn, "timeline_event", rows)
        return self.fixture

    def _many(self, conn: sqlite3.Connection, table: str, rows: list[Row]) -> None:
        conn.execute("BEGIN")
        conn.executemany(_insert_sql(table), rows)
        conn.execute("COMMIT")

    def _flush(self, conn: sqlite3.Connection, cases: list[Row], events: list[Row]) -> None:
        conn.execute("BEGIN")
        conn.executemany(_insert_sql("cases_case"), cases)
        conn.executemany(_insert_sql("timeline_event"), events)
        conn.execute("COMMIT")
        cases.clear()
        events.clear()

    def _tickets(self) -> Iterator[tuple[Row, list[Row], list[str]]]:
        """(Loxodon case row, its events, helpdesk JSON lines) for each ticket, oldest first."""
        gen, rng, fx = self.gen, self.gen.rng, self.fixture
        now = gen.now
        ages = sorted(
            (rng.randint(60, 730 * 86_400) for _ in range(self.scale.tickets)), reverse=True
        )
        for n, age_s in enumerate(ages):
            ticket_id = n + 1
            rowid = gen.typical_rowid()
            customer = gen.customer_ids[rowid - 1]
            fx.emails[rowid] = _email(rowid)
            fx.customer_ids[rowid] = customer
            fx.tickets_of.setdefault(rowid, []).append(ticket_id)
            title, problem = PROBLEMS[rng.randrange(len(PROBLEMS))]
            created = now - timedelta(seconds=age_s)
            is_open = age_s < 14 * 86_400 or rng.random() < 0.05
            high = rng.random() < 0.2
            owner_n = rng.randrange(5)
            owner = gen.staff_ids[owner_n]
            site = gen.site_ids[rowid % 3]
            t = db_time(created)
            resolved = None if is_open else db_time(created + timedelta(days=3))
            case_id = gen.new_id()
            case = (
                case_id, t, resolved or t, problem,
                "open" if is_open else "closed_unconfirmed", "high" if high else "normal",
                "", resolved, "" if is_open else "No reply from the customer", 0, 1, None,
                customer, owner, owner, site,
            )  # fmt: skip
            lines = [
                json.dumps(
                    {
                        "t": [
                            ticket_id, rowid % 3, title, problem, _email(rowid),
                            1 if is_open else 4, 2 if high else 3, hd_time(t), owner_n + 1,
                        ]
                    }
                )
                + "\n"
            ]  # fmt: skip
            events: list[Row] = []
            for k in range(rng.randint(1, 5)):
                at = created + timedelta(hours=2 * k + 1, seconds=rng.randrange(3600))
                public = rng.random() < 0.7
                events.append(self._case_event(case_id, customer, site, owner, at, public, n, k))
                lines.append(
                    json.dumps(
                        {
                            "f": [
                                ticket_id, hd_time(db_time(at)), "Reply" if public else "Comment",
                                REPLY if public else NOTE, public, owner_n + 1,
                            ]
                        }
                    )
                    + "\n"
                )  # fmt: skip
            fx.followups += len(events)
            fx.case_events += len(events)
            yield case, events, lines

    def _case_event(
        self, case: str, customer: str, site: str, owner: str, at: datetime, public: bool,
        n: int, k: int,
    ) -> Row:  # fmt: skip
        """A follow-up as Loxodon stores it: a public reply by email, or an agent's note."""
        at_us = int((at - EPOCH) / timedelta(microseconds=1))
        when = db_time(at)
        external_id = f"fu-{n:07d}-{k}"
        digest = hashlib.sha256(external_id.encode()).hexdigest()
        if public:
            channel, kind, source, summary, body, actor = (
                "email", "message", "bench-mail", "Reply to the customer", REPLY, None,
            )  # fmt: skip
        else:
            channel, kind, source, summary, body, actor = (
                "phone", "note", "bench-telephony", "Agent note", NOTE, owner,
            )  # fmt: skip
        return (
            self.gen.event_id(at_us), when, when, channel, kind, int(kind in INTERNAL_KINDS),
            summary, body if body else BODY, "{}", source, external_id, digest, actor, case,
            customer, site if actor else None,
        )  # fmt: skip
