"""The deterministic matcher: strong identifiers (verified, or unverified and unanimous)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.db.models import Q

from loxodon.customers.models import Identity
from loxodon.customers.resolution.base import Candidate, Resolution, ResolutionQuery

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
        condition = Q()
        for kind, value in pairs:
            condition |= Q(kind=kind, value=value)
        # Absorbed customers own nothing after a merge; the filter also guards against a
        # straggler row, so a merged-away record is never the answer.
        rows = list(
            Identity.objects.filter(condition, customer__merged_into__isnull=True).values_list(
                "customer_id", "verified"
            )
        )
        return decide(len(pairs), rows)


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
