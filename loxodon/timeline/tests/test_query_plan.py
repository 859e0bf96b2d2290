"""The timeline query walks its index, newest first: no table scan, no sort, whatever the
database (issue 9: cost grows with the page, not with the table). SQLite's EXPLAIN QUERY PLAN
and PostgreSQL's EXPLAIN are read after ANALYZE on a table where one customer is a small part."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from loxodon.core.cursor import encode_cursor
from loxodon.customers.models import Customer
from loxodon.timeline.models import Event
from loxodon.timeline.selectors import _page_query

pytestmark = pytest.mark.django_db

CUSTOMERS, EVENTS_EACH, HEAVY_EVENTS = 200, 20, 3000
CHANNELS = ["email", "phone", "web", "chat", "in_person"]


@pytest.fixture
def busy_table() -> uuid.UUID:
    """7,000 events of 200 customers, statistics gathered; returns the id of the one customer
    with 3,000 of them (far more than a page: the case where walking the index pays)."""
    rng = random.Random(9)
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Customer {n}") for n in range(CUSTOMERS)]
    )
    Event.objects.bulk_create(
        [
            Event(
                customer=c,
                occurred_at=now - timedelta(minutes=rng.randrange(500_000)),
                channel=rng.choice(CHANNELS),
                kind="message",
                summary="hello",
                source="plan-test",
                external_id=f"{c.pk}-{n}",
                content_hash="x",
            )
            for i, c in enumerate(customers)
            for n in range(HEAVY_EVENTS if i == 17 else EVENTS_EACH)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return customers[17].pk


def _plan(query: object) -> str:
    return str(query.explain())  # type: ignore[attr-defined]


def _assert_index_walk(plan: str, index: str) -> None:
    if connection.vendor == "sqlite":
        assert f"USING INDEX {index}" in plan, plan
        assert "USE TEMP B-TREE" not in plan, plan  # no sort: the index gives the order
        assert "SCAN timeline_event" not in plan, plan
    else:
        assert index in plan and "Index" in plan, plan
        assert "Seq Scan on timeline_event" not in plan, plan
        assert "Sort" not in plan, plan


@pytest.mark.parametrize(
    ("options", "index"),
    [
        ({}, "event_customer_recent"),
        ({"include_internal": False}, "event_customer_recent"),
        ({"channel": "phone"}, "event_customer_channel"),
    ],
    ids=["all", "customer-visible", "one-channel"],
)
def test_the_first_page_walks_the_index_newest_first(
    busy_table: uuid.UUID, options: dict[str, object], index: str
) -> None:
    query = _page_query(
        busy_table,
        cursor=None,
        channel=options.get("channel"),  # type: ignore[arg-type]
        kind=None,
        include_internal=bool(options.get("include_internal", True)),
    )[:51]
    _assert_index_walk(_plan(query), index)


def test_a_later_page_starts_inside_the_index(busy_table: uuid.UUID) -> None:
    middle = Event.objects.filter(customer_id=busy_table).order_by("-occurred_at")[10]
    cursor = encode_cursor(middle.occurred_at, middle.id)
    query = _page_query(busy_table, cursor=cursor, channel=None, kind=None, include_internal=True)[
        :51
    ]
    plan = _plan(query)
    _assert_index_walk(plan, "event_customer_recent")
    # It seeks to the cursor in the index instead of walking the newer events down to it.
    if connection.vendor == "sqlite":
        assert "customer_id=? AND occurred_at<?" in plan, plan
    else:
        assert "Index Cond: ((customer_id = " in plan and "occurred_at <=" in plan, plan
