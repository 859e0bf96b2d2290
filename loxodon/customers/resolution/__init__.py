"""Who is this? Resolution of a contact's identifiers to one customer.

`resolve()` is the one entry point every channel adapter and the API call. It runs matchers in
order of strength: exact identifiers first, then the probabilistic matcher (Fellegi-Sunter
weights learnt in batch by Splink, see `model.py` and `probabilistic.py`).

The matchers are imported on first use, so the model-free modules of this package
(`synthetic`, `spec`) can be used without Django (the accuracy benchmark does).
"""

from __future__ import annotations

import functools
from typing import Any

from loxodon.customers.resolution.base import Candidate, Matcher, Resolution, ResolutionQuery


@functools.cache
def matchers() -> tuple[Matcher, ...]:
    from loxodon.customers.resolution.exact import ExactIdentifierMatcher
    from loxodon.customers.resolution.probabilistic import ProbabilisticMatcher

    return (ExactIdentifierMatcher(), ProbabilisticMatcher())


def __getattr__(name: str) -> Any:
    if name == "MATCHERS":
        return matchers()
    raise AttributeError(name)


def resolve(query: ResolutionQuery) -> Resolution:
    from loxodon.customers.resolution.exact import VERIFIED_CONFIDENCE, ExactIdentifierMatcher
    from loxodon.customers.resolution.probabilistic import contradiction

    candidates: list[Candidate] = []
    for matcher in matchers():
        result = matcher.match(query)
        if result.customer_id is None:
            candidates.extend(result.candidates)
            continue
        # An unverified identifier is not proof: a family shares one email address. When the
        # contact's profile plainly contradicts the customer's (another given name, born years
        # apart), the customer is only a candidate and the fuzzy matcher has its say.
        unverified = (
            isinstance(matcher, ExactIdentifierMatcher) and result.confidence < VERIFIED_CONFIDENCE
        )
        doubt = contradiction(query, result.customer_id) if unverified else None
        if doubt is None:
            return result
        candidates.append(
            Candidate(
                customer_id=result.customer_id,
                score=round(result.confidence / 2, 3),
                reason=f"unverified identifier; {doubt}",
            )
        )
    merged: dict[object, Candidate] = {}
    for c in candidates:
        if c.customer_id not in merged or merged[c.customer_id].score < c.score:
            merged[c.customer_id] = c
    ranked = sorted(merged.values(), key=lambda c: -c.score)
    return Resolution(customer_id=None, confidence=0.0, candidates=ranked[:10])


__all__ = ["MATCHERS", "Candidate", "Resolution", "ResolutionQuery", "matchers", "resolve"]
