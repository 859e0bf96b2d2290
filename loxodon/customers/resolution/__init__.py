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
    candidates: list[Candidate] = []
    for matcher in matchers():
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


__all__ = ["MATCHERS", "Candidate", "Resolution", "ResolutionQuery", "matchers", "resolve"]
