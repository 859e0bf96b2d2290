"""Who is this? Resolution of a contact's identifiers to one customer.

`resolve()` is the one entry point every channel adapter and the API call. It runs matchers in
order of strength: exact identifiers first; the probabilistic matcher (Fellegi-Sunter weights
learnt in batch) plugs in behind it as another `Matcher` without changing callers.
"""

from __future__ import annotations

from loxodon.customers.resolution.base import Candidate, Resolution, ResolutionQuery
from loxodon.customers.resolution.exact import ExactIdentifierMatcher, ProfileMatcher

MATCHERS = (ExactIdentifierMatcher(), ProfileMatcher())


def resolve(query: ResolutionQuery) -> Resolution:
    candidates: list[Candidate] = []
    for matcher in MATCHERS:
        result = matcher.match(query)
        if result.customer_id is not None:
            return result
        candidates.extend(result.candidates)
    merged: dict[object, Candidate] = {}
    for c in candidates:
        if c.customer_id not in merged or merged[c.customer_id].score < c.score:
            merged[c.customer_id] = c
    ranked = sorted(merged.values(), key=lambda c: -c.score)
    return Resolution(customer_id=None, confidence=0.0, candidates=ranked[:10])


__all__ = ["Candidate", "Resolution", "ResolutionQuery", "resolve"]
