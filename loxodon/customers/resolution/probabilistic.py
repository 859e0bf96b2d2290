"""Real-time fuzzy resolution: blocking lookups in the database, Fellegi-Sunter scores.

Runs after the exact identifier matcher. Candidates come from indexed lookups (postcode, date
of birth, and any customer holding one of the contact's email/phone/account number, verified
or not), at most `MAX_CANDIDATES`, never a merged-away record; profiles and identifiers come in
one query. Each candidate is scored with the active trained model (`model.py`), the same
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
from django.db import connection

from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.resolution.base import Candidate, Resolution, ResolutionQuery
from loxodon.customers.resolution.model import Model, Score, load_active_model

MAX_CANDIDATES = 200
# A number or address held by more customers than this is a switchboard or a family's: the
# person behind the contact is then found by postcode or birthday, not among its holders.
MAX_IDENTIFIER_HOLDERS = 30
CUSTOMER = Customer._meta.db_table
IDENTITY = Identity._meta.db_table
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


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class ProbabilisticMatcher:
    def match(self, query: ResolutionQuery) -> Resolution:
        nothing = Resolution(customer_id=None, confidence=0.0)
        profiles = candidates(query)
        if not profiles:
            return nothing
        model = load_active_model()
        spec = model.spec
        raw_query = query_record(query)
        left = spec.prepare_record(raw_query)
        floor = candidate_threshold()
        scored = []
        for cid, found in profiles.items():
            right = spec.prepare_record(customer_record(raw_query, *found))
            score = model.score_at_least(left, right, floor)
            if score is not None:  # else it could not reach the candidate threshold
                scored.append((score, cid))
        return decide(model, scored)


def customer_record(
    raw_query: dict[str, Any], profile: dict[str, Any], held: dict[str, list[str]]
) -> dict[str, Any]:
    """A candidate as a raw record; of several emails/phones/accounts, the one that agrees."""
    raw = dict(profile)
    for kind in COMPARED_KINDS:
        values = held.get(kind, [])
        wanted = raw_query.get(str(kind))
        raw[str(kind)] = wanted if wanted in values else (values[0] if values else None)
    return raw


def contradiction(query: ResolutionQuery, customer_id: uuid.UUID) -> str | None:
    """Why the contact cannot be this customer (a hard conflict in the model), or None."""
    found = candidates(query).get(customer_id)
    if found is None:
        return None
    model = load_active_model()
    raw_query = query_record(query)
    prepare = model.spec.prepare_record
    score = model.score(prepare(raw_query), prepare(customer_record(raw_query, *found)))
    differing = model.spec.hard_conflicts(model.gammas(score.levels))
    if not differing:
        return None
    return "the profile differs: " + ", ".join(differing)


def candidates_sql(query: ResolutionQuery) -> tuple[str, list[Any]] | None:
    """The statement behind `candidates` (None: the contact has no blocking key). Its plan is
    pinned by `customers/tests/test_resolution_plan.py`: index lookups only, on both databases."""
    keys: list[str] = []
    params: list[Any] = []
    if query.postcode:
        keys.append("c.postcode = %s")
        params.append(query.postcode)
    if query.dob:
        keys.append("c.date_of_birth = %s")
        params.append(connection.ops.adapt_datefield_value(query.dob))
    held = [(k, v) for k, v in query.strong_identifiers() if k in COMPARED_KINDS]
    if held:
        matches = " OR ".join("(i.kind = %s AND i.value = %s)" for _ in held)
        holders = f"SELECT i.customer_id FROM {IDENTITY} i WHERE {matches} LIMIT %s"  # noqa: S608
        if connection.vendor == "postgresql":
            # An OR with a sub-select (a SubPlan) cannot be a BitmapOr of indexes on PostgreSQL,
            # which then scanned every customer; ARRAY(...) is computed once (an InitPlan), and
            # `id = ANY(...)` is a primary-key lookup the BitmapOr can use.
            keys.append(f"c.id = ANY(ARRAY({holders}))")
        else:  # SQLite answers the OR with one index lookup per branch
            keys.append(f"c.id IN ({holders})")
        for kind, value in held:
            params += [str(kind), value]
        params.append(MAX_IDENTIFIER_HOLDERS)
    if not keys:
        return None
    kinds = ", ".join("%s" for _ in COMPARED_KINDS)
    sql = f"""
        WITH candidate AS (
            SELECT c.id, c.name, c.first_name, c.last_name, c.date_of_birth, c.street, c.city,
                   c.postcode
            FROM {CUSTOMER} c
            WHERE c.merged_into_id IS NULL AND ({" OR ".join(keys)})
            LIMIT %s
        )
        SELECT candidate.*, i.kind, i.value
        FROM candidate LEFT JOIN {IDENTITY} i
          ON i.customer_id = candidate.id AND i.kind IN ({kinds})
    """  # noqa: S608 - table names are the models', every value is a parameter
    params += [MAX_CANDIDATES, *(str(k) for k in COMPARED_KINDS)]
    return sql, params


def candidates(
    query: ResolutionQuery,
) -> dict[uuid.UUID, tuple[dict[str, Any], dict[str, list[str]]]]:
    """Live customers sharing a blocking key with the contact, with their identifiers.

    One SQL statement (this is the hot path of every channel; the ORM would spend more time
    building it than the database spends answering): at most MAX_CANDIDATES customers with the
    same postcode, the same date of birth, or holding one of the contact's email/phone/account
    number, each joined to its email/phone/account identities. Uses the postcode, date of
    birth and (kind, value) indexes.
    """
    statement = candidates_sql(query)
    if statement is None:
        return {}
    sql, params = statement
    found: dict[uuid.UUID, tuple[dict[str, Any], dict[str, list[str]]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    key: uuid.UUID | None = None
    last_raw: Any = None
    for raw_id, name, first, last, dob, street, city, postcode, kind, value in rows:
        if key is None or raw_id != last_raw:  # a candidate's rows usually come together
            key, last_raw = _uuid(raw_id), raw_id
        if key not in found:
            if not (first or last):
                first, _, last = (name or "").rpartition(" ")
            profile = {
                "first_name": first,
                "last_name": last,
                "dob": dob,
                "postcode": postcode,
                "street": street,
                "city": city,
            }
            found[key] = (profile, defaultdict(list))
        if kind is not None:
            found[key][1][kind].append(value)
    return found


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
    text = "; ".join(f"{name}: {label}" for _, name, label in agreeing)
    differing = conflicts(model, score)
    if differing:
        text += " — differs: " + ", ".join(differing)
    return text or "weak agreement"


def conflicts(model: Model, score: Score) -> list[str]:
    """Comparisons that speak strongly against the pair (weight below -3 bits)."""
    return [
        comparison.name
        for i, (comparison, index) in enumerate(
            zip(model.spec.comparisons, score.levels, strict=True)
        )
        if model.levels[i][index].weight < -3
    ]
