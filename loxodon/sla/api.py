"""Thin endpoints for service standards (ADR 10): read a case's clock, list standards, and
(supervisors for their site, admins everywhere) save or delete a standard."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from ninja import Router, Status

from loxodon.core.schemas import ApiRequest
from loxodon.org.selectors import get_department, get_site
from loxodon.sla import services
from loxodon.sla.schemas import ClockOut, StandardIn, StandardOut, clock_out, standard_out
from loxodon.sla.selectors import clock_of_case, list_standards

router = Router(tags=["service standards"])


@router.get("/cases/{case_id}", response=ClockOut)
def case_clock(request: ApiRequest, case_id: str) -> dict[str, Any]:
    """The case's service-standard clock as last computed by the worker (state as of now)."""
    case, clock = clock_of_case(request.auth, case_id)
    return clock_out(case, clock, timezone.now())


@router.get("/standards", response=list[StandardOut])
def standards(request: ApiRequest) -> list[dict[str, Any]]:
    """Central standards (site null) and site overrides."""
    return [standard_out(s) for s in list_standards(request.auth)]


@router.post("/standards", response={200: StandardOut})
def save_standard(request: ApiRequest, data: StandardIn) -> Status[dict[str, Any]]:
    """Create or replace the standard for (site or central, priority, department or any)."""
    standard = services.save_standard(
        actor=request.auth,
        site=get_site(data.site) if data.site else None,
        department=get_department(data.department) if data.department else None,
        terms=services.StandardTerms(
            priority=data.priority,
            name=data.name,
            first_response_minutes=data.first_response_minutes,
            next_response_minutes=data.next_response_minutes,
            resolution_minutes=data.resolution_minutes,
            warn_at_percent=data.warn_at_percent,
            reassign_on_breach=data.reassign_on_breach,
        ),
    )
    return Status(200, standard_out(standard))


@router.delete("/standards/{standard_id}", response={204: None})
def delete_standard(request: ApiRequest, standard_id: uuid.UUID) -> Status[None]:
    services.delete_standard(actor=request.auth, standard_id=standard_id)
    return Status(204, None)
