"""Reads for the identity review queue: pairs linkage was unsure about, and one pair side by side.

Shared by the desk pages and the API (one definition of the filters and the order). The queue is
for supervisors and admins; agents get 403, anyone else 404 (`require_reviewer`).
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.access import require_supervisor
from loxodon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loxodon.core.ids import parse_uuid
from loxodon.customers import services
from loxodon.customers.models import Customer, Identity, MatchReview
from loxodon.org.models import Site
from loxodon.timeline.models import Asset, Event

Status = MatchReview.Status

# Tabs of the queue: what each shows. "decided" is both human decisions together.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "pending": (Status.PENDING,),
    "merged": (Status.MERGED,),
    "not_same": (Status.NOT_SAME,),
    "decided": (Status.MERGED, Status.NOT_SAME),
    "obsolete": (Status.OBSOLETE,),
}
STATUS_LABELS = {
    "pending": "Waiting for review",
    "merged": "Merged",
    "not_same": "Not the same person",
    "decided": "All decided",
    "obsolete": "No longer applies",
}

# Score bands (match probability): label, lower bound (inclusive), upper bound (exclusive).
BANDS: dict[str, tuple[str, float | None, float | None]] = {
    "high": ("90% or more", 0.9, None),
    "medium": ("70% to 90%", 0.7, 0.9),
    "low": ("below 70%", None, 0.7),
}

RECENT_ITEMS = 3  # timeline items shown per customer on the comparison page


def require_reviewer(user: Any) -> None:
    """Deciding who is the same person is for supervisors and admins."""
    require_supervisor(user, "the identity review queue is for supervisors and admins")


def may_review(user: Any) -> bool:
    try:
        require_reviewer(user)
    except (PermissionDenied, NotFound):
        return False
    return True


# --- the queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilters:
    status: str = "pending"
    site: str = ""
    band: str = ""

    @classmethod
    def parse(cls, status: str | None, site: str | None, band: str | None) -> ReviewFilters:
        """Validated filters; an unknown value is an InvalidInput naming what is allowed."""
        status = status or "pending"
        if status not in STATUS_FILTERS:
            raise InvalidInput(f"status must be one of: {', '.join(STATUS_FILTERS)}")
        band = band or ""
        if band and band not in BANDS:
            raise InvalidInput(f"band must be one of: {', '.join(BANDS)}")
        site = (site or "").strip()
        if site and not Site.objects.filter(code=site).exists():
            raise InvalidInput(f"no site with code '{site}'")
        return cls(status=status, site=site, band=band)

    @property
    def pending(self) -> bool:
        return self.status == "pending"


@dataclass(frozen=True)
class ReviewPage:
    items: list[MatchReview]
    next_cursor: str | None
    count: int


def _encode(key: float | datetime, pk: uuid.UUID) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([value, str(pk)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, *, by_score: bool) -> tuple[float | datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if by_score:
            if isinstance(key, bool) or not isinstance(key, int | float):
                raise ValueError("score expected")
            return float(key), uuid.UUID(pk)
        return datetime.fromisoformat(key), uuid.UUID(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput(f"cursor '{cursor}' is not valid; use next_cursor from a page") from None


def _with_customers(qs: QuerySet[MatchReview]) -> QuerySet[MatchReview]:
    identities = Identity.objects.select_related("site").order_by("kind", "value")
    return qs.select_related(
        "customer_a__home_site",
        "customer_a__account",
        "customer_b__home_site",
        "customer_b__account",
        "decided_by",
        "merge",
    ).prefetch_related(
        Prefetch("customer_a__identities", queryset=identities),
        Prefetch("customer_b__identities", queryset=identities),
    )


def _filtered(filters: ReviewFilters) -> QuerySet[MatchReview]:
    qs = MatchReview.objects.filter(status__in=STATUS_FILTERS[filters.status])
    if filters.pending:
        # A pair whose customer was merged meanwhile no longer applies: never offer it.
        qs = qs.filter(customer_a__merged_into__isnull=True, customer_b__merged_into__isnull=True)
    if filters.site:
        qs = qs.filter(
            Q(customer_a__home_site__code=filters.site)
            | Q(customer_b__home_site__code=filters.site)
        )
    if filters.band:
        _, low, high = BANDS[filters.band]
        if low is not None:
            qs = qs.filter(score__gte=low)
        if high is not None:
            qs = qs.filter(score__lt=high)
    return qs


def review_queue(
    user: Any, filters: ReviewFilters, *, cursor: str | None = None, limit: int = 25
) -> ReviewPage:
    """Pending pairs highest score first, or decided pairs most recently decided first;
    keyset-paginated (ADR 6). A fixed number of queries whatever the page holds."""
    require_reviewer(user)
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    qs = _filtered(filters)
    count = qs.count()
    by_score = filters.pending
    if cursor:
        key, pk = _decode(cursor, by_score=by_score)
        if by_score:
            qs = qs.filter(Q(score__lt=key) | Q(score=key, id__lt=pk))
        else:
            qs = qs.filter(Q(decided_at__lt=key) | Q(decided_at=key, id__lt=pk))
    order = ("-score", "-id") if by_score else ("-decided_at", "-id")
    rows = list(_with_customers(qs.order_by(*order))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key_value: float | datetime | None = last.score if by_score else last.decided_at
        if key_value is not None:
            next_cursor = _encode(key_value, last.id)
    return ReviewPage(items=rows, next_cursor=next_cursor, count=count)


def next_pending_review(user: Any, filters: ReviewFilters) -> MatchReview | None:
    """The pending pair to look at next (highest score first) within the same filters."""
    require_reviewer(user)
    pending = ReviewFilters(status="pending", site=filters.site, band=filters.band)
    return _filtered(pending).order_by("-score", "-id").first()


def get_review_for(user: Any, review_id: str | uuid.UUID) -> MatchReview:
    require_reviewer(user)
    pk = parse_uuid(review_id, "review")
    review = _with_customers(MatchReview.objects.filter(pk=pk)).first()
    if review is None:
        raise NotFound(f"no review with id '{review_id}'")
    return review


# --- one pair side by side -----------------------------------------------------------------------

PROFILE_ROWS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("date_of_birth", "Date of birth"),
    ("street", "Street"),
    ("city", "City"),
    ("postcode", "Postcode"),
    ("country", "Country"),
    ("account", "Business account"),
    ("home_site", "Home site"),
    ("profile_verified", "Profile confirmed by the customer"),
    ("profile_updated_at", "Profile last updated"),
    ("created_at", "Customer since"),
)


@dataclass(frozen=True)
class FieldRow:
    field: str
    label: str
    a: Any
    b: Any
    state: str  # same | differs | only_a | only_b | empty


def _shown(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _same(va: Any, vb: Any) -> bool:
    """Equal as a reviewer reads them: case and spacing aside; moments on the same day."""
    if isinstance(va, datetime) and isinstance(vb, datetime):
        return timezone.localdate(va) == timezone.localdate(vb)
    return str(va).strip().casefold() == str(vb).strip().casefold()


def _field_rows(a: Customer, b: Customer) -> list[FieldRow]:
    rows = []
    for name, label in PROFILE_ROWS:
        va, vb = _shown(getattr(a, name)), _shown(getattr(b, name))
        if va is None and vb is None:
            state = "empty"
        elif va is None:
            state = "only_b"
        elif vb is None:
            state = "only_a"
        elif _same(va, vb):
            state = "same"
        else:
            state = "differs"
        rows.append(FieldRow(field=name, label=label, a=va, b=vb, state=state))
    return rows


@dataclass(frozen=True)
class Evidence:
    """One comparison of the linkage model, in words: how it moved the score."""

    field: str
    level: str
    bayes_factor: float | None
    weight: float  # log2 of the Bayes factor: + towards a match, - against
    words: str
    direction: str  # for | against | neutral
    bar_percent: int  # 0-100, size of the push relative to the strongest one on the page


def _words(bf: float | None, weight: float) -> tuple[str, str]:
    if bf is None or bf <= 0 or math.isclose(weight, 0.0, abs_tol=0.05):
        return "no effect on the score", "neutral"
    if weight > 0:
        strength = "strong" if weight >= 4 else "some"
        return f"{strength} evidence of one person (odds {bf:,.1f} times higher)", "for"
    strength = "strong" if weight <= -4 else "some"
    return f"{strength} evidence of two people (odds {1 / bf:,.1f} times lower)", "against"


def evidence_of(review: MatchReview) -> list[Evidence]:
    """`review.comparison` (Splink's per-comparison levels and Bayes factors) as words + bars."""
    raw = review.comparison if isinstance(review.comparison, list) else []
    parsed: list[tuple[str, str, float | None, float]] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        bf = item.get("bayes_factor")
        bf_value = float(bf) if isinstance(bf, int | float) and not isinstance(bf, bool) else None
        weight = math.log2(bf_value) if bf_value and bf_value > 0 else 0.0
        label = str(item.get("field") or item.get("comparison") or "comparison")
        parsed.append((label, str(item.get("level") or ""), bf_value, weight))
    strongest = max((abs(w) for *_, w in parsed), default=0.0) or 1.0
    out = []
    for label, level, bf_value, weight in parsed:
        words, direction = _words(bf_value, weight)
        out.append(
            Evidence(
                field=label.replace("_", " "),
                level=level,
                bayes_factor=bf_value,
                weight=weight,
                words=words,
                direction=direction,
                bar_percent=max(2, round(abs(weight) / strongest * 100)) if weight else 0,
            )
        )
    return out


@dataclass(frozen=True)
class Side:
    """One customer of the pair: profile, identifiers, what they own and their latest events."""

    customer: Customer
    identities: list[Identity]
    events: int
    cases: int
    assets: int
    recent: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class ReviewDetail:
    review: MatchReview
    a: Side
    b: Side
    fields: list[FieldRow]
    evidence: list[Evidence]
    plan: services.MergePlan | None
    plan_error: str | None
    decidable: bool


def _counts(model: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = model.objects.filter(customer_id__in=ids).values("customer_id").annotate(n=Count("pk"))
    return {r["customer_id"]: r["n"] for r in rows.order_by()}


def _recent(customer: Customer) -> list[Event]:
    return list(
        Event.objects.filter(customer_id=customer.pk)
        .select_related("site")
        .order_by("-occurred_at", "-id")[:RECENT_ITEMS]
    )


def pair_survivor(
    review: MatchReview, survivor_id: str | uuid.UUID | None
) -> tuple[Customer, Customer]:
    """(survivor, absorbed): the one asked for (must be one of the pair), else the rules' pick."""
    a, b = review.customer_a, review.customer_b
    if survivor_id in (None, ""):
        return services.choose_survivor(a, b)
    try:
        pk = uuid.UUID(str(survivor_id))
    except ValueError:
        raise InvalidInput(f"survivor_id '{survivor_id}' is not an id") from None
    if pk == a.pk:
        return a, b
    if pk == b.pk:
        return b, a
    raise InvalidInput("survivor_id must be one of the two customers of this review")


def review_detail(
    user: Any, review_id: str | uuid.UUID, *, survivor_id: str | uuid.UUID | None = None
) -> ReviewDetail:
    """Both customers side by side, the model's evidence, and (while the pair is pending and
    both records still exist) what merging would change."""
    review = get_review_for(user, review_id)
    a, b = review.customer_a, review.customer_b
    ids = [a.pk, b.pk]
    events, cases, assets = _counts(Event, ids), _counts(Case, ids), _counts(Asset, ids)
    sides = [
        Side(
            customer=c,
            identities=list(c.identities.all()),
            events=events.get(c.pk, 0),
            cases=cases.get(c.pk, 0),
            assets=assets.get(c.pk, 0),
            recent=_recent(c),
        )
        for c in (a, b)
    ]
    decidable = review.status == Status.PENDING and not a.is_merged and not b.is_merged
    plan: services.MergePlan | None = None
    plan_error: str | None = None
    if decidable:
        survivor, absorbed = pair_survivor(review, survivor_id)
        try:
            plan = services.plan_merge(survivor=survivor, absorbed=absorbed)
        except (InvalidInput, Conflict) as exc:  # e.g. merged by someone else a moment ago
            plan_error = exc.detail
    return ReviewDetail(
        review=review,
        a=sides[0],
        b=sides[1],
        fields=_field_rows(a, b),
        evidence=evidence_of(review),
        plan=plan,
        plan_error=plan_error,
        decidable=decidable,
    )


# --- a decision's input, shared by the desk form and the API --------------------------------------

DECISIONS = ("merge", "not_same")


@dataclass(frozen=True)
class DecisionInput:
    decision: str
    note: str
    survivor: Customer | None


def decision_input(
    review: MatchReview, decision: str, note: str | None, survivor_id: str | uuid.UUID | None
) -> DecisionInput:
    """Check a decision before it is made: "not_same" needs a note saying why (it is remembered
    for good); a survivor, if named, must be one of the pair."""
    if decision not in DECISIONS:
        raise InvalidInput("decision must be 'merge' or 'not_same'")
    note = (note or "").strip()
    if decision == "not_same" and not note:
        raise InvalidInput(
            "say why they are not the same person (the note is kept with the decision)"
        )
    survivor = None
    if decision == "merge" and survivor_id not in (None, ""):
        survivor = pair_survivor(review, survivor_id)[0]
    return DecisionInput(decision=decision, note=note, survivor=survivor)
