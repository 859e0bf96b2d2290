"""Insights API (`/api/v1/insights/`): effort figures, CSAT and the rings report, for supervisors
and admins (agents get 403). Filters: `site`, `department` (case owner's), `since`/`until` dates
(inclusive) or `period` = 30/90/365 days."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from ninja import Router, Schema

from loxodon.core.errors import InvalidInput
from loxodon.core.schemas import ApiRequest, ErrorOut
from loxodon.insights import figures

router = Router(tags=["insights"])
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class CaseEffortOut(Schema):
    case_id: str
    title: str
    status: str
    opened_at: datetime
    site_code: str | None
    department_code: str | None
    owner: str | None
    contacts: int
    transfers: int
    agents: int
    departments: int
    repeats: int
    customer_messages: int
    messages_to_customer: int
    days_to_confirmed_resolution: float | None
    reopens: int
    closed_unconfirmed: bool
    premature_closures: int
    proposals_reopened: int


class EffortRollupOut(Schema):
    key: str
    label: str
    cases: int
    contacts_per_case: float
    transfers_per_case: float
    transfers: int
    agents_per_case: float
    departments_per_case: float
    repeats_per_case: float
    customer_messages_per_case: float
    confirmed: int
    days_to_confirmed_resolution: float | None
    reopens: int
    closed_unconfirmed: int
    premature_closures: int


class PeriodOut(Schema):
    since: datetime
    until: datetime
    site: str | None
    department: str | None


class EffortOut(Schema):
    period: PeriodOut
    group_by: str
    rollup: list[EffortRollupOut]
    cases: list[CaseEffortOut]


class CsatRowOut(Schema):
    key: str
    label: str
    responses: int
    satisfaction_avg: float | None
    csat_percent: float | None
    effort_avg: float | None
    intent_yes_percent: float | None
    small_sample: bool


class CsatOut(Schema):
    period: PeriodOut
    by_touchpoint: list[CsatRowOut]
    by_department: list[CsatRowOut]


class RingsCellOut(Schema):
    sales: str
    service: str
    pairs: int
    intent_known: int
    intent_yes: int
    intent_yes_percent: float | None
    small_sample: bool


class RingsLineOut(Schema):
    sales: str
    pairs: int
    positive_service: int
    positive_service_percent: float | None
    small_sample: bool


class RingsOut(Schema):
    period: PeriodOut
    cells: list[RingsCellOut]
    after_positive_sales: RingsLineOut
    after_negative_sales: RingsLineOut
    pairs: int
    neutral_sales_pairs: int
    neutral_service_pairs: int
    min_n: int


def _filters(request: ApiRequest) -> figures.Filters:
    return figures.filters_from(request.GET)


def _period(filters: figures.Filters) -> dict[str, Any]:
    return {
        "since": filters.since,
        "until": filters.until,
        "site": filters.site,
        "department": filters.department,
    }


def _case(effort: figures.CaseEffort) -> dict[str, Any]:
    return {**asdict(effort), "case_id": str(effort.case_id)}


@router.get("/effort", response={200: EffortOut, **ERRORS})
def effort(request: ApiRequest, group_by: str = "site", with_cases: bool = False) -> Any:
    """Effort figures rolled up by `group_by` (site, department, week, month), optionally with
    every case's own figures (`with_cases=true`)."""
    filters = _filters(request)
    if group_by not in figures.GROUPINGS:
        raise InvalidInput(f"group_by must be one of: {', '.join(figures.GROUPINGS)}")
    cases = figures.effort_by_case(request.auth, filters)
    return {
        "period": _period(filters),
        "group_by": group_by,
        "rollup": [asdict(r) for r in figures.rollup(cases, group_by)],  # type: ignore[arg-type]
        "cases": [_case(e) for e in cases] if with_cases else [],
    }


@router.get("/cases/{case_id}/effort", response={200: CaseEffortOut, **ERRORS})
def case_effort(request: ApiRequest, case_id: str) -> Any:
    """One case's effort figures."""
    return _case(figures.case_effort(request.auth, case_id))


@router.get("/csat", response={200: CsatOut, **ERRORS})
def csat(request: ApiRequest) -> Any:
    """CSAT (share of 4-5 ratings) by touchpoint and by the case owner's department."""
    filters = _filters(request)
    report = figures.csat(request.auth, filters)
    return {"period": _period(filters), **asdict(report)}


@router.get("/rings", response={200: RingsOut, **ERRORS})
def rings(request: ApiRequest) -> Any:
    """The sales x service table: positive service after positive vs negative sales, and intent
    to buy again for each combination, from survey events."""
    filters = _filters(request)
    report = figures.rings(request.auth, filters)
    return {"period": _period(filters), **asdict(report)}
