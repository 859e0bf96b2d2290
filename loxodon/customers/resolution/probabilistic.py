"""Real-time fuzzy resolution: blocking lookups in the database, Fellegi-Sunter scores.

Runs after the exact identifier matcher. Candidates come from indexed lookups (postcode, date
of birth, and any customer holding one of the contact's email/phone/account number, verified
or not), at most `MAX_CANDIDATES`, never a merged-away record; profiles and identifiers come in
two queries. Each candidate is scored with the active trained model (`model.py`), the same
comparisons Splink uses in batch (`spec.py`). Then:

- probability ≥ LOXODON_MATCH_AUTO (default 0.99), no hard conflict (different given names,
  dates of birth years apart), corroborated by a date of birth or an email/phone/account
  number (a name and an address alone never attach a contact: the wrong customer would see
  someone else's history), and no second candidate that sure → that customer;
- ≥ LOXODON_MATCH_CANDIDATE (default 0.5) → candidates with their score and reasons;
- otherwise nothing: a new customer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Q

from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.resolution.base import Candidate, Resolution, ResolutionQuery
from loxodon.customers.resolution.model import Model, Score, load_active_model

MAX_CANDIDATES = 200
# (comparison, level label) agreements of which real time needs one to answer "this customer".
CORROBORATING = frozenset(
    {
        ("dob", "exact"),
        ("dob", "day/month swapped or one digit off"),
        ("email", "exact"),
        ("phone", "exact"),
        ("account_number", "exact"),
    }
)
COMPARED_KINDS = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.ACCOUNT_NUMBER)
PROFILE_FIELDS = (
    "id",
    "name",
    "first_name",
    "last_name",
    "date_of_birth",
    "street",
    "city",
    "postcode",
)


def auto_threshold() -> float:
    return float(getattr(settings, "LOXODON_MATCH_AUTO", 0.99))


def candidate_threshold() -> float:
    return float(getattr(settings, "LOXODON_MATCH_CANDIDATE", 0.5))


def query_record(query: ResolutionQuery) -> dict[str, Any]:
    """The contact as a raw record in the spec's columns (name split when not given apart)."""
    first, last = query.first_name, query.last_name
    if query.name and not (first or last):
        parts = query.name.split()
        first = " ".join(parts[:-1]) if len(parts) > 1 else (parts[0] if parts else None)
        last = parts[-1] if len(parts) > 1 else None
    return {
        "first_name": first,
        "last_name": last,
        "dob": query.dob,
        "postcode": query.postcode,
        "street": query.street,
        "city": query.city,
        "email": query.email,
        "phone": query.phone,
        "account_number": query.account_number,
    }


class ProbabilisticMatcher:
    def match(self, query: ResolutionQuery) -> Resolution:
        nothing = Resolution(customer_id=None, confidence=0.0)
        blocking = self._blocking(query)
        if blocking is None:
            return nothing
        model = load_active_model()
        spec = model.spec
        profiles = list(
            Customer.objects.filter(merged_into__isnull=True)
            .filter(blocking)
            .values(*PROFILE_FIELDS)[:MAX_CANDIDATES]
        )
        if not profiles:
            return nothing
        identities: dict[uuid.UUID, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for cid, kind, value in Identity.objects.filter(
            customer_id__in=[p["id"] for p in profiles], kind__in=COMPARED_KINDS
        ).values_list("customer_id", "kind", "value"):
            identities[cid][kind].append(value)

        raw_query = query_record(query)
        left = spec.prepare_record(raw_query)
        scored: list[tuple[Score, uuid.UUID]] = []
        for profile in profiles:
            held = identities.get(profile["id"], {})
            raw = {
                "first_name": profile["first_name"],
                "last_name": profile["last_name"],
                "dob": profile["date_of_birth"],
                "postcode": profile["postcode"],
                "street": profile["street"],
                "city": profile["city"],
            }
            if not (raw["first_name"] or raw["last_name"]):
                first, _, last = (profile["name"] or "").rpartition(" ")
                raw["first_name"], raw["last_name"] = first or last, last if first else ""
            for kind in COMPARED_KINDS:
                values = held.get(kind, [])
                wanted = raw_query.get(str(kind))
                # A customer may hold several: compare the one that agrees, if any.
                raw[str(kind)] = wanted if wanted in values else (values[0] if values else None)
            scored.append((model.score(left, spec.prepare_record(raw)), profile["id"]))
        return decide(model, scored)

    @staticmethod
    def _blocking(query: ResolutionQuery) -> Q | None:
        clauses = []
        if query.postcode:
            clauses.append(Q(postcode=query.postcode))
        if query.dob:
            clauses.append(Q(date_of_birth=query.dob))
        held = [(k, v) for k, v in query.strong_identifiers() if k in COMPARED_KINDS]
        if held:
            condition = Q()
            for kind, value in held:
                condition |= Q(kind=kind, value=value)
            clauses.append(
                Q(id__in=Identity.objects.filter(condition).values("customer_id")[:MAX_CANDIDATES])
            )
        if not clauses:
            return None
        blocking = clauses[0]
        for clause in clauses[1:]:
            blocking |= clause
        return blocking


def decide(model: Model, scored: list[tuple[Score, uuid.UUID]]) -> Resolution:
    auto, floor = auto_threshold(), candidate_threshold()
    scored.sort(key=lambda item: -item[0].weight)
    sure = [(s, cid) for s, cid in scored if s.probability >= auto]
    if (
        len(sure) == 1
        and model.auto_merge_allowed(sure[0][0].levels)
        and corroborated(model, sure[0][0])
    ):
        best, cid = sure[0]
        return Resolution(customer_id=cid, confidence=round(best.probability, 6))
    candidates = [
        Candidate(customer_id=cid, score=round(s.probability, 4), reason=reason(model, s))
        for s, cid in scored
        if s.probability >= floor
    ]
    return Resolution(customer_id=None, confidence=0.0, candidates=candidates[:10])


def corroborated(model: Model, score: Score) -> bool:
    return any(
        (comparison.name, comparison.levels[index].label) in CORROBORATING
        for comparison, index in zip(model.spec.comparisons, score.levels, strict=True)
    )


def reason(model: Model, score: Score) -> str:
    """The strongest agreements, e.g. "last_name: exact; dob: exact; address: same postcode"."""
    parts = [
        (model.levels[i][index].weight, comparison.name, model.levels[i][index].label)
        for i, (comparison, index) in enumerate(
            zip(model.spec.comparisons, score.levels, strict=True)
        )
    ]
    agreeing = sorted((p for p in parts if p[0] > 1), reverse=True)[:4]
    conflicts = [p for p in parts if p[0] < -3]
    text = "; ".join(f"{name}: {label}" for _, name, label in agreeing)
    if conflicts:
        text += " — differs: " + ", ".join(name for _, name, _ in conflicts)
    return text or "weak agreement"
