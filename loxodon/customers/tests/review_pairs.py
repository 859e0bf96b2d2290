"""Pairs for the identity review queue, as the batch linkage leaves them (shared by the review
tests of the API and the desk). The linkage job is not run here: the pair rows are written
directly, with customers that have identities, events, a case and an asset."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from loxodon.cases.services import open_case
from loxodon.customers.models import Customer, MatchReview
from loxodon.customers.services import add_identity, create_customer
from loxodon.org.models import Site
from loxodon.timeline.models import Asset
from loxodon.timeline.services import EventDraft, ingest_events

COMPARISON = [
    {"field": "first_name", "level": "Jaro-Winkler >= 0.88", "bayes_factor": 6.4},
    {"field": "last_name", "level": "Exact match", "bayes_factor": 35.2},
    {"field": "date_of_birth", "level": "Exact match", "bayes_factor": 120.0},
    {"field": "postcode", "level": "All other comparisons", "bayes_factor": 0.21},
    {"field": "email", "level": "Null", "bayes_factor": 1.0},
]

_serial = itertools.count(1)


def _events(customer: Customer, site: Site, summaries: list[str], start: datetime) -> None:
    drafts = [
        EventDraft(
            source="legacy-test",
            external_id=f"{customer.pk}-{i}",
            channel="phone",
            kind="call",
            occurred_at=start + timedelta(days=i),
            summary=summary,
            customer_id=customer.pk,
            site=site.code,
        )
        for i, summary in enumerate(summaries)
    ]
    ingest_events(drafts)


def make_pair(
    site: Site,
    other_site: Site,
    *,
    score: float = 0.85,
    first: tuple[str, str] = ("Joanne Bloggs", "Jo Bloggs"),
    history: bool = True,
    comparison: list[dict[str, Any]] | None = None,
    **review_fields: Any,
) -> MatchReview:
    """Two records of one person: the older one verified in `site`, a legacy import in
    `other_site` (moved house, nickname, an unverified copy of the phone)."""
    n = next(_serial)
    older = create_customer(
        name=first[0],
        email=f"joanne{n}@example.com",
        phone=f"+44 7700 9{n:05d}",
        account_number=f"AC-{n:06d}",
        verified=True,
        site=site,
        date_of_birth=date(1980, 4, 12),
        street="1 Old Road",
        city="London",
        postcode="SW1A 1AA",
    )
    newer = create_customer(
        name=first[1],
        email=f"jo.bloggs{n}@example.org",
        site=other_site,
        date_of_birth=date(1980, 4, 12),
        street="22 New Street",
        city="Manchester",
        postcode="M1 1AE",
        source="import",
    )
    add_identity(
        customer=newer,
        kind="legacy",
        value=f"{other_site.code}:{n}",
        source="import",
        site=other_site,
    )
    add_identity(customer=newer, kind="phone", value=f"+44 7700 9{n:05d}", source="import")
    if history:
        start = timezone.now() - timedelta(days=30)
        _events(older, site, ["Asked about a delivery", "Called about the invoice"], start)
        _events(newer, other_site, ["Legacy: shipment sent", "Legacy: return received"], start)
        open_case(customer=newer, problem="My laptop will not start", actor=None)
        Asset.objects.create(customer=newer, product="Laptop 14", serial=f"SN-{n}", site=other_site)
    a, b = sorted((older, newer), key=lambda c: c.pk)
    return MatchReview.objects.create(
        customer_a=a,
        customer_b=b,
        score=score,
        match_weight=7.5,
        comparison=COMPARISON if comparison is None else comparison,
        **review_fields,
    )
