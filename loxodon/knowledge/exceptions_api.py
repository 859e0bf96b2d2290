"""`/api/v1/knowledge/policies` and `/api/v1/knowledge/exceptions`: policies and their exceptions.

The same rules as the desk: `exceptions.grant_exception` grants within the caller's authority or
files an approval request beyond it; `exceptions.decide_exception` (supervisors and admins)
approves or denies. Every member of staff reads the register; unknown ids are 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Query, Router, Schema, Status
from pydantic import Field

from loxodon.cases.selectors import get_case_for
from loxodon.core.errors import InvalidInput
from loxodon.core.schemas import ApiRequest, ErrorOut, StrictIn
from loxodon.knowledge import exceptions as services
from loxodon.knowledge.exception_selectors import (
    ExceptionFilters,
    exception_register,
    get_exception_for,
    policies_for,
    policy_parameters,
)
from loxodon.knowledge.models import PolicyException
from loxodon.knowledge.policy import authority_of
from loxodon.knowledge.selectors import get_article_for

router = Router(tags=["policy exceptions"])

ERRORS: dict[int | tuple[int, ...], Any] = {
    400: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
}
StatusName = Literal["granted", "pending", "approved", "denied", "withdrawn"]


class ParameterOut(Schema):
    key: str = Field(description="what an exception names as `parameter`, e.g. return_window")
    label: str
    type: Literal["days", "integer", "list", "boolean", "text"]
    value: Any = Field(description="what the current policy version says")
    unit: str
    authority: dict[str, float] = Field(
        description="per role, how far beyond `value` it may go without approval "
        "(days/units, list items added; 1 = may change a boolean or text); admins: unlimited"
    )
    your_authority: float | None = Field(
        description="the same for the caller's role; null = unlimited (admin)"
    )


class PolicyOut(Schema):
    id: uuid.UUID
    slug: str
    title: str
    version: int = Field(description="current version number: what a new exception departs from")
    parameters: list[ParameterOut]


class ExceptionOut(Schema):
    id: uuid.UUID
    status: StatusName = Field(
        description="granted: within the requester's authority; pending: waiting for a "
        "supervisor; approved / denied: decided; withdrawn: taken back by the requester"
    )
    case_id: uuid.UUID
    customer_id: uuid.UUID
    article_id: uuid.UUID
    article_slug: str
    version: int = Field(description="the policy version this departs from")
    parameter: str
    policy_value: Any = Field(description="what that policy version says")
    granted_value: Any = Field(description="what the customer gets")
    excess: Decimal | None = Field(description="how far beyond the policy (days, units, items)")
    reason: str
    requested_by: str = Field(description="username")
    site: str | None = Field(description="site code")
    decided_by: str | None = Field(description="username of the supervisor/admin who decided")
    decided_at: datetime | None
    decision_note: str
    created_at: datetime


class ExceptionPageOut(Schema):
    items: list[ExceptionOut]
    next_cursor: str | None = Field(description="pass back as `cursor` for the next page")
    count: int = Field(description="exceptions matching the filters, over every page")
    counts: dict[str, int] = Field(description="per status, ignoring the status filter")


class ExceptionIn(StrictIn):
    case_id: uuid.UUID = Field(description="the case the exception is granted on")
    article: str = Field(description="the policy article: id or slug")
    parameter: str = Field(description="the parameter key, e.g. return_window")
    value: Any = Field(
        description='what to grant: a number for days/integer (45 or "45"), items to add for a '
        'list (["Windows 8.1"] or "Windows 8.1, Linux"), true/false for boolean, text for text'
    )
    reason: str = Field(description="why this customer gets it", max_length=2000)


class ExceptionDecisionIn(StrictIn):
    approve: bool = Field(description="true approves, false denies")
    note: str = Field(default="", max_length=2000, description="required when denying")


def _exception_out(e: PolicyException) -> dict[str, Any]:
    return {
        "id": e.pk,
        "status": e.status,
        "case_id": e.case_id,
        "customer_id": e.customer_id,
        "article_id": e.article_id,
        "article_slug": e.article.slug,
        "version": e.version.number,
        "parameter": e.parameter,
        "policy_value": e.policy_value,
        "granted_value": e.granted_value,
        "excess": e.excess,
        "reason": e.reason,
        "requested_by": e.requested_by.username,
        "site": e.site.code if e.site else None,
        "decided_by": e.decided_by.username if e.decided_by else None,
        "decided_at": e.decided_at,
        "decision_note": e.decision_note,
        "created_at": e.created_at,
    }


@router.get("/policies", response={200: list[PolicyOut], **ERRORS}, summary="Policies")
def policies(request: ApiRequest) -> list[dict[str, Any]]:
    """Policy articles (not archived) with their current version and typed parameters, and how
    far the caller may depart from each parameter without approval."""
    out = []
    for article in policies_for(request.auth):
        parameters = policy_parameters(article)
        out.append(
            {
                "id": article.pk,
                "slug": article.slug,
                "title": article.title,
                "version": article.current.number if article.current else 0,
                "parameters": [
                    {**p.model_dump(), "your_authority": authority_of(p, request.auth)}
                    for p in parameters
                ],
            }
        )
    return out


@router.get(
    "/exceptions", response={200: ExceptionPageOut, **ERRORS}, summary="The exceptions register"
)
def exceptions(
    request: ApiRequest,
    policy: str | None = Query(None, description="policy article id or slug"),
    site: str | None = Query(None, description="site code"),
    agent: str | None = Query(None, description="requested by: username or user id"),
    status: str | None = Query(None, description="granted, pending, approved, denied, withdrawn"),
    since: str | None = Query(None, description="created on or after this date (YYYY-MM-DD)"),
    until: str | None = Query(None, description="created on or before this date (YYYY-MM-DD)"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(25, description="1 to 200"),
) -> dict[str, Any]:
    """Every policy exception, newest first, in keyset pages (pass `next_cursor` back as
    `cursor`). Filters combine; `counts` gives the number per status under the other filters."""
    filters = ExceptionFilters.parse(
        request.auth,
        policy=policy,
        site=site,
        agent=agent,
        status=status,
        since=since,
        until=until,
    )
    page = exception_register(request.auth, filters, cursor=cursor, limit=limit)
    return {
        "items": [_exception_out(e) for e in page.items],
        "next_cursor": page.next_cursor,
        "count": page.count,
        "counts": page.counts,
    }


@router.post(
    "/exceptions",
    response={201: ExceptionOut, **ERRORS},
    summary="Grant an exception (or ask for approval)",
)
def grant(request: ApiRequest, data: ExceptionIn) -> Status:
    """Depart from one parameter of a policy on a case. Within the caller's authority the
    exception is `granted` at once; beyond it, it is `pending` until a supervisor or admin
    decides. Records the policy's current version. 400 for a value the parameter cannot take
    or one that does not go beyond the policy; 409 if the case is resolved or closed."""
    case = get_case_for(request.auth, data.case_id)
    article = get_article_for(request.auth, data.article)
    if data.value is None or isinstance(data.value, dict):
        raise InvalidInput("value: give a number, text, true/false or a list of items")
    exception = services.grant_exception(
        case=case,
        article=article,
        parameter=data.parameter,
        granted_value=data.value,
        reason=data.reason,
        by=request.auth,
    )
    return Status(201, _exception_out(get_exception_for(request.auth, exception.pk)))


@router.get(
    "/exceptions/{exception_id}", response={200: ExceptionOut, **ERRORS}, summary="One exception"
)
def exception(request: ApiRequest, exception_id: str) -> dict[str, Any]:
    return _exception_out(get_exception_for(request.auth, exception_id))


@router.post(
    "/exceptions/{exception_id}/decision",
    response={200: ExceptionOut, **ERRORS},
    summary="Approve or deny a pending exception",
)
def decision(request: ApiRequest, exception_id: str, data: ExceptionDecisionIn) -> dict[str, Any]:
    """Supervisors and admins whose own authority covers the excess (403 otherwise: an admin
    must decide); nobody decides their own request (403); a `note` is required to deny (400);
    409 if the exception is no longer pending."""
    found = get_exception_for(request.auth, exception_id)
    decided = services.decide_exception(
        exception=found, by=request.auth, approve=data.approve, note=data.note
    )
    return _exception_out(get_exception_for(request.auth, decided.pk))
