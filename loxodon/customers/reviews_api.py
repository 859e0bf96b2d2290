"""`/api/v1/identity/reviews`: the identity review queue for systems and scripts.

The same filters, order and rules as the desk page (`review_selectors`), the same service for
decisions (`services.decide_review`). Supervisors and admins only: an agent's token gets 403.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from ninja import Query, Router, Schema
from pydantic import Field

from loxodon.core.schemas import ApiRequest, ErrorOut, StrictIn
from loxodon.customers import services
from loxodon.customers.models import Customer, MatchReview
from loxodon.customers.review_selectors import (
    ReviewFilters,
    decision_input,
    evidence_of,
    get_review_for,
    review_detail,
    review_queue,
)

router = Router(tags=["identity reviews"])

ERRORS: dict[int | tuple[int, ...], Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class ReviewIdentityOut(Schema):
    kind: str
    value: str
    verified: bool
    source: str
    site: str | None


class ReviewCustomerOut(Schema):
    id: uuid.UUID
    name: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    street: str
    city: str
    postcode: str
    home_site: str | None
    account: str | None = Field(description="business account name, if any")
    merged_into: uuid.UUID | None = Field(description="set once this record was merged away")
    identities: list[ReviewIdentityOut]


class ComparisonOut(Schema):
    field: str
    level: str
    bayes_factor: float | None
    match_weight: float = Field(description="log2 of the Bayes factor: + for a match, - against")
    effect: str = Field(description="the effect in words")


class ReviewOut(Schema):
    id: uuid.UUID
    status: Literal["pending", "merged", "not_same", "obsolete"]
    score: float = Field(description="match probability 0..1")
    match_weight: float
    customer_a: ReviewCustomerOut
    customer_b: ReviewCustomerOut
    comparison: list[ComparisonOut]
    created_at: datetime
    decided_by: str | None = Field(description="username of who decided")
    decided_at: datetime | None
    note: str
    merge_id: uuid.UUID | None
    survivor_id: uuid.UUID | None = Field(description="the customer kept by the merge, if merged")


class ReviewPageOut(Schema):
    items: list[ReviewOut]
    next_cursor: str | None
    count: int = Field(description="pairs matching the filters, over every page")


class FieldChangeOut(Schema):
    field: str
    before: Any
    after: Any
    losing_value: Any


class PlanOut(Schema):
    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID
    moves: dict[str, int] = Field(description='rows that would move, per "app.Model.field"')
    profile_after: dict[str, Any]
    changes: list[FieldChangeOut]
    conflicts: list[FieldChangeOut] = Field(description="losing values kept as history")
    warnings: list[str]


class CountsOut(Schema):
    events: int
    cases: int
    assets: int


class ReviewDetailOut(ReviewOut):
    counts_a: CountsOut
    counts_b: CountsOut
    plan: PlanOut | None = Field(description="what a merge would do; null once decided")


class DecisionIn(StrictIn):
    decision: Literal["merge", "not_same"]
    note: str = Field(default="", max_length=2000, description="required for not_same")
    survivor_id: uuid.UUID | None = Field(
        default=None, description="which of the two to keep (merge only); default: the rules' pick"
    )


def _customer_out(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "date_of_birth": c.date_of_birth,
        "street": c.street,
        "city": c.city,
        "postcode": c.postcode,
        "home_site": c.home_site.code if c.home_site_id and c.home_site else None,
        "account": c.account.name if c.account_id and c.account else None,
        "merged_into": c.merged_into_id,
        "identities": [
            {
                "kind": i.kind,
                "value": i.value,
                "verified": i.verified,
                "source": i.source,
                "site": i.site.code if i.site_id and i.site else None,
            }
            for i in c.identities.all()
        ],
    }


def _review_out(r: MatchReview) -> dict[str, Any]:
    return {
        "id": r.id,
        "status": r.status,
        "score": r.score,
        "match_weight": r.match_weight,
        "customer_a": _customer_out(r.customer_a),
        "customer_b": _customer_out(r.customer_b),
        "comparison": [
            {
                "field": e.field,
                "level": e.level,
                "bayes_factor": e.bayes_factor,
                "match_weight": round(e.weight, 3),
                "effect": e.words,
            }
            for e in evidence_of(r)
        ],
        "created_at": r.created_at,
        "decided_by": r.decided_by.username if r.decided_by_id and r.decided_by else None,
        "decided_at": r.decided_at,
        "note": r.note,
        "merge_id": r.merge_id,
        "survivor_id": r.merge.survivor_id if r.merge_id and r.merge else None,
    }


def _change(c: services.FieldChange) -> dict[str, Any]:
    return {"field": c.field, "before": c.before, "after": c.after, "losing_value": c.losing_value}


@router.get(
    "/reviews",
    response={200: ReviewPageOut, **ERRORS},
    summary="The review queue",
)
def reviews(
    request: ApiRequest,
    status: str = Query(
        "pending", description="pending, merged, not_same, decided (both) or obsolete"
    ),
    site: str | None = Query(None, description="site code: either customer's home site"),
    band: str | None = Query(None, description="score band: high, medium or low"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(25, description="1 to 200"),
) -> dict[str, Any]:
    """Pairs of customers linkage was unsure about. `pending` pairs come highest score first
    (pairs whose customer was merged meanwhile are left out); decided ones most recently
    decided first. `site` matches either customer's home site; `band` is the score band
    (high ≥ 0.9, medium 0.7-0.9, low < 0.7). Keyset pages: pass `next_cursor` back as
    `cursor`. Supervisors and admins only."""
    filters = ReviewFilters.parse(status, site, band)
    page = review_queue(request.auth, filters, cursor=cursor, limit=limit)
    return {
        "items": [_review_out(r) for r in page.items],
        "next_cursor": page.next_cursor,
        "count": page.count,
    }


@router.get(
    "/reviews/{review_id}",
    response={200: ReviewDetailOut, **ERRORS},
    summary="One pair, with what a merge would do",
)
def review(request: ApiRequest, review_id: str, survivor_id: str | None = None) -> dict[str, Any]:
    """Both customers, the model's per-field evidence, counts of what each owns, and while the
    pair is pending the merge plan (`survivor_id` chooses which record would be kept)."""
    detail = review_detail(request.auth, review_id, survivor_id=survivor_id)
    plan = detail.plan
    out = _review_out(detail.review)
    out["counts_a"] = {
        "events": detail.a.events,
        "cases": detail.a.cases,
        "assets": detail.a.assets,
    }
    out["counts_b"] = {
        "events": detail.b.events,
        "cases": detail.b.cases,
        "assets": detail.b.assets,
    }
    out["plan"] = (
        None
        if plan is None
        else {
            "survivor_id": plan.survivor.pk,
            "absorbed_id": plan.absorbed.pk,
            "moves": plan.moves,
            "profile_after": plan.profile_after,
            "changes": [_change(c) for c in plan.changes],
            "conflicts": [_change(c) for c in plan.conflicts],
            "warnings": plan.warnings,
        }
    )
    return out


@router.post(
    "/reviews/{review_id}/decision",
    response={200: ReviewOut, **ERRORS, 409: ErrorOut},
    summary="Decide a pair: merge, or not the same person",
)
def decide(request: ApiRequest, review_id: str, data: DecisionIn) -> dict[str, Any]:
    """`merge` merges the two (keeping `survivor_id`, or the survivorship rules' pick);
    `not_same` is remembered so the pair is never suggested again and needs a `note`.
    409 when the pair was already decided or one of the customers was merged meanwhile."""
    pair = get_review_for(request.auth, review_id)
    wanted = decision_input(pair, data.decision, data.note, data.survivor_id)
    services.decide_review(
        review=pair,
        by=request.auth,
        decision=data.decision,
        note=wanted.note,
        survivor=wanted.survivor,
    )
    return _review_out(get_review_for(request.auth, pair.pk))
