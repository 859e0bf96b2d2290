"""API shapes of service standards and case clocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema

from loxodon.cases.models import Case
from loxodon.core.schemas import StrictIn
from loxodon.sla.models import TARGETS, CaseClock, ServiceStandard


class StandardOut(Schema):
    id: str
    site: str | None  # None = central
    priority: str
    department: str | None  # case type: the owner's department; None = any
    name: str
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    warn_at_percent: int
    reassign_on_breach: bool


class StandardIn(StrictIn):
    """Unknown fields are refused (422), like every other request body."""

    site: str | None = None
    priority: str
    department: str | None = None
    name: str = ""
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_at_percent: int = 80
    reassign_on_breach: bool = False


class TargetOut(Schema):
    target: str
    due_at: datetime | None
    met_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None


class ClockOut(Schema):
    case_id: str
    state: str  # none | on_track | at_risk | breached | paused | met | not_met (as of now)
    standard: StandardOut | None
    next_due_at: datetime | None
    breached_since: datetime | None
    paused_since: datetime | None
    paused_minutes: int
    time_zone: str
    targets: list[TargetOut]
    computed_at: datetime | None


def standard_out(s: ServiceStandard) -> dict[str, Any]:
    return {
        "id": str(s.pk),
        "site": s.site.code if s.site else None,
        "priority": s.priority,
        "department": s.department.code if s.department else None,
        "name": s.name,
        "first_response_minutes": s.first_response_minutes,
        "next_response_minutes": s.next_response_minutes,
        "resolution_minutes": s.resolution_minutes,
        "warn_at_percent": s.warn_at_percent,
        "reassign_on_breach": s.reassign_on_breach,
    }


def clock_out(case: Case, clock: CaseClock | None, now: datetime) -> dict[str, Any]:
    zone = case.site.time_zone if case.site else "UTC"
    if clock is None:
        return {
            "case_id": str(case.pk),
            "state": "none",
            "standard": None,
            "next_due_at": None,
            "breached_since": None,
            "paused_since": None,
            "paused_minutes": 0,
            "time_zone": zone,
            "targets": [],
            "computed_at": None,
        }
    return {
        "case_id": str(case.pk),
        "state": clock.display_state(now),
        "standard": standard_out(clock.standard) if clock.standard else None,
        "next_due_at": clock.next_due_at,
        "breached_since": clock.breached_at(now),
        "paused_since": clock.paused_since,
        "paused_minutes": clock.paused_minutes,
        "time_zone": zone,
        "targets": [
            {
                "target": name,
                "due_at": getattr(clock, f"{name}_due_at"),
                "met_at": getattr(clock, f"{name}_met_at"),
                "warned_at": getattr(clock, f"{name}_warned_at"),
                "breached_at": getattr(clock, f"{name}_breached_at"),
            }
            for name in TARGETS
            if getattr(clock, f"{name}_due_at") or getattr(clock, f"{name}_met_at")
        ],
        "computed_at": clock.computed_at,
    }
