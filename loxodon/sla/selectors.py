"""Reads of service standards, calendars and clocks, each behind the access check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from loxodon.cases.models import OPEN_STATUSES, Case, CaseStatus
from loxodon.cases.selectors import get_case_for
from loxodon.core.access import require_staff
from loxodon.core.errors import InvalidInput, PermissionDenied
from loxodon.org.models import Site
from loxodon.sla.calendar import BusinessCalendar
from loxodon.sla.models import BusinessHours, CaseClock, ClockState, Holiday, ServiceStandard


# --- compliance (dashboards) ---------------------------------------------------------------------
@dataclass(frozen=True)
class ComplianceRow:
    """Service-standard compliance of the cases a site opened in a period.

    - `cases`: cases opened in [since, until).
    - `met`: finished and confirmed by the customer with every target met.
    - `breached`: at least one target missed (any next-response cycle too), or closed without
      the customer's confirmation (a resolution not met), whether still open or finished.
    - `open_at_risk`: still open, not breached, with a target about to breach (warned).
    - `percent_met`: met / (met + breached) * 100, None when neither (nothing decided yet).
    Cases without a standard (or never checked) count only in `cases`.
    """

    site_code: str
    site_name: str
    cases: int
    met: int
    breached: int
    open_at_risk: int
    percent_met: float | None


def compliance_by_site(
    user: Any,
    *,
    since: datetime,
    until: datetime,
    site: str | None = None,
    department: str | None = None,
) -> list[ComplianceRow]:
    """Per site (by code), cases opened in [since, until) and how their standards went.

    `site` filters on the site code, `department` on the owner's department code. One query
    (cases joined with their clocks, only the columns needed); rows in site-code order, a case
    without a site under code "" ("No site").
    """
    require_staff(user)
    for value, name in ((since, "since"), (until, "until")):
        if value.tzinfo is None:
            raise InvalidInput(f"{name} must be an aware datetime")
    if until <= since:
        raise InvalidInput("until must be after since")
    qs = Case.objects.filter(created_at__gte=since, created_at__lt=until)
    if site:
        qs = qs.filter(site__code=site)
    if department:
        qs = qs.filter(owner__department__code=department)
    rows = qs.values_list(
        "site__code",
        "site__name",
        "status",
        "sla_clock__state",
        "sla_clock__ever_breached",
    )
    sums: dict[str, dict[str, Any]] = {}
    for code, name, status, state, ever_breached in rows:
        row = sums.setdefault(
            code or "",
            {"name": name or "No site", "cases": 0, "met": 0, "breached": 0, "at_risk": 0},
        )
        row["cases"] += 1
        if state is None or state == ClockState.NONE:
            continue
        if ever_breached or state in (ClockState.BREACHED, ClockState.NOT_MET):
            row["breached"] += 1
        elif status == CaseStatus.RESOLVED_CONFIRMED and state == ClockState.MET:
            row["met"] += 1
        elif status in OPEN_STATUSES and state == ClockState.AT_RISK:
            row["at_risk"] += 1
    out = []
    for code in sorted(sums):
        r = sums[code]
        decided = r["met"] + r["breached"]
        out.append(
            ComplianceRow(
                site_code=code,
                site_name=r["name"],
                cases=r["cases"],
                met=r["met"],
                breached=r["breached"],
                open_at_risk=r["at_risk"],
                percent_met=round(100 * r["met"] / decided, 1) if decided else None,
            )
        )
    return out


# --- standards, hours, holidays --------------------------------------------------------------
def standard_for(case: Case) -> ServiceStandard | None:
    """The standard that applies to `case` (no access check: internal to services).

    Most specific first: the case's site + the owner's department, the site + any department,
    central + department, central + any. None when nothing matches.
    """
    department_id = case.owner.department_id if case.owner_id and case.owner else None
    candidates = list(
        ServiceStandard.objects.filter(
            Q(site_id=case.site_id) | Q(site__isnull=True), priority=case.priority
        ).filter(Q(department_id=department_id) | Q(department__isnull=True))
    )

    def rank(s: ServiceStandard) -> int:
        return (0 if s.site_id is not None and case.site_id is not None else 2) + (
            0 if s.department_id is not None else 1
        )

    candidates = [s for s in candidates if s.site_id is None or s.site_id == case.site_id]
    return min(candidates, key=rank, default=None)


def calendar_for(site: Site | None) -> BusinessCalendar:
    """The site's business calendar: its own hours (else the central ones, else 24/7), its
    holidays and the central ones, in its time zone (UTC for a case without a site)."""
    site_id = site.pk if site is not None else None
    hours = list(
        BusinessHours.objects.filter(Q(site_id=site_id) | Q(site__isnull=True)).values_list(
            "site_id", "weekday", "opens", "closes"
        )
    )
    own = [(w, o, c) for s, w, o, c in hours if s is not None]
    central = [(w, o, c) for s, w, o, c in hours if s is None]
    holidays = frozenset(
        Holiday.objects.filter(Q(site_id=site_id) | Q(site__isnull=True)).values_list(
            "date", flat=True
        )
    )
    zone = site.time_zone if site is not None else "UTC"
    return BusinessCalendar.from_times(zone, own or central, holidays)


@dataclass(frozen=True)
class StandardsOverview:
    """Everything a supervisor needs to see central standards against site overrides."""

    central: list[ServiceStandard]
    overrides: list[ServiceStandard]
    central_hours: list[BusinessHours]
    site_hours: list[BusinessHours]
    holidays: list[Holiday]
    sites: list[Site]


def standards_overview(user: Any, *, site: str | None = None) -> StandardsOverview:
    """Central rows and (with `site`) that site's own rows; supervisors and admins only."""
    require_staff(user)
    if not (user.is_admin_role or user.role == "supervisor"):
        raise PermissionDenied("service standards are shown to supervisors and admins")
    standards = list(ServiceStandard.objects.select_related("site", "department"))
    hours = list(BusinessHours.objects.select_related("site"))
    holidays = list(Holiday.objects.select_related("site"))
    if site:
        standards = [s for s in standards if s.site is None or s.site.code == site]
        hours = [h for h in hours if h.site is None or h.site.code == site]
        holidays = [h for h in holidays if h.site is None or h.site.code == site]
    return StandardsOverview(
        central=[s for s in standards if s.site_id is None],
        overrides=[s for s in standards if s.site_id is not None],
        central_hours=[h for h in hours if h.site_id is None],
        site_hours=[h for h in hours if h.site_id is not None],
        holidays=holidays,
        sites=list(Site.objects.all()),
    )


def list_standards(user: Any) -> list[ServiceStandard]:
    require_staff(user)
    return list(ServiceStandard.objects.select_related("site", "department"))


def clock_of_case(user: Any, case_id: str | uuid.UUID) -> tuple[Case, CaseClock | None]:
    """The case (access-checked) and its clock, None if it was never checked."""
    case = get_case_for(user, case_id)
    clock = CaseClock.objects.select_related("standard").filter(case_id=case.pk).first()
    return case, clock


def open_cases_touched(site: Site | None) -> int:
    """How many open cases a change of `site`'s rules rechecks (central: every open case)."""
    cases = Case.objects.filter(status__in=OPEN_STATUSES)
    if site is not None:
        cases = cases.filter(site=site)
    return cases.count()
