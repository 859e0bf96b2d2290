"""The deterministic matcher: strong identifiers (verified, or unverified and unanimous)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.db import connection

from loxodon.customers.models import Customer, Identity
from loxodon.customers.resolution.base import Candidate, Resolution, ResolutionQuery

CUSTOMER = Customer._meta.db_table
IDENTITY = Identity._meta.db_table
VERIFIED_CONFIDENCE = 1.0
UNVERIFIED_CONFIDENCE = 0.9


class ExactIdentifierMatcher:
    """A verified strong identifier names one person (a database constraint guarantees it).

    Unverified identifiers still match, with lower confidence, when they all point to one
    customer; when identifiers disagree the answer is "no single customer" plus candidates.
    """

    def match(self, query: ResolutionQuery) -> Resolution:
        pairs = query.strong_identifiers()
        if not pairs:
            return Resolution(customer_id=None, confidence=0.0)
        # Absorbed customers own nothing after a merge; the filter also guards against a
        # straggler row, so a merged-away record is never the answer. Raw SQL: this runs first
        # on every contact of every channel, and the ORM took longer to build it than SQLite
        # to answer it (uses identity_lookup_idx).
        matches = " OR ".join("(i.kind = %s AND i.value = %s)" for _ in pairs)
        sql = (
            f"SELECT i.customer_id, i.verified FROM {IDENTITY} i "  # noqa: S608
            f"JOIN {CUSTOMER} c ON c.id = i.customer_id "
            f"WHERE ({matches}) AND c.merged_into_id IS NULL"
        )
        params = [str(x) for pair in pairs for x in pair]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = [(_uuid(cid), bool(verified)) for cid, verified in cursor.fetchall()]
        return decide(len(pairs), rows)


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def decide(n_identifiers: int, rows: list[tuple[uuid.UUID, bool]]) -> Resolution:
    """Decide from the (customer_id, verified) rows that matched `n_identifiers` identifiers."""
    if not rows:
        return Resolution(customer_id=None, confidence=0.0)
    verified: set[uuid.UUID] = {cid for cid, v in rows if v}
    hits: dict[uuid.UUID, int] = defaultdict(int)
    for cid, _ in rows:
        hits[cid] += 1
    if len(verified) == 1:
        (cid,) = verified
        return Resolution(customer_id=cid, confidence=VERIFIED_CONFIDENCE)
    if not verified and len(hits) == 1:
        (cid,) = hits
        return Resolution(customer_id=cid, confidence=UNVERIFIED_CONFIDENCE)
    candidates = [
        Candidate(
            customer_id=cid,
            score=round((1.0 if cid in verified else 0.8) * n / n_identifiers, 3),
            reason="identifier match",
        )
        for cid, n in hits.items()
    ]
    candidates.sort(key=lambda c: -c.score)
    return Resolution(customer_id=None, confidence=0.0, candidates=candidates)
