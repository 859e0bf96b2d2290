"""Policy exceptions in the desk: the case panel, the approvals queue and the register.

- `/desk/kb/for-case/<case>/exceptions`: the panel the case page lazy-loads (GET) and the grant
  form it posts to (POST, re-rendered by htmx with the outcome); `?fields=1` re-renders the
  parameter part of the form when another policy or parameter is chosen.
- `/desk/kb/approvals/`: pending requests, oldest first (supervisors and admins; agents 403).
- `/desk/kb/exceptions/`: the register, filterable, with counts per status and a CSV export.
  Every member of staff reads it; it has no actions (agents read, supervisors decide in the queue).
Writes go through `knowledge.exceptions`.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from loxodon.cases.selectors import get_case_for
from loxodon.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from loxodon.core.spreadsheet import csv_cell
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.knowledge import exceptions as services
from loxodon.knowledge.exception_selectors import (
    STATUS_LABELS,
    ExceptionFilters,
    approvals_queue,
    exception_register,
    exceptions_of_case,
    get_exception_for,
    policies_for,
    policy_parameters,
    register_rows,
)
from loxodon.knowledge.models import Article, PolicyException
from loxodon.knowledge.policy import (
    Parameter,
    authority_of,
    covers,
    describe_authority,
    describe_value,
    parse_policy,
)
from loxodon.knowledge.selectors import get_article_for
from loxodon.org.models import Site, User

PAGE_SIZE = 25
Status = PolicyException.Status


# --- how an exception reads ------------------------------------------------------------------


def _parameter(exception: PolicyException) -> Parameter | None:
    try:
        return parse_policy(exception.version.policy).parameter(exception.parameter)
    except DomainError:
        return None


def _excess_words(parameter: Parameter | None, excess: Decimal | None) -> str:
    if parameter is None or excess is None:
        return ""
    amount = f"{excess.normalize():f}"
    if parameter.type == "days":
        return f"+{amount} day{'' if excess == 1 else 's'}"
    if parameter.type == "integer":
        return f"+{amount} {parameter.unit}".strip()
    if parameter.type == "list":
        return f"+{amount} item{'' if excess == 1 else 's'}"
    return "changed"


def status_words(exception: PolicyException) -> str:
    """Granted / Waiting for approval / Approved by Sue Supervisor / Denied by …"""
    who = exception.decided_by.display_name if exception.decided_by else ""
    if exception.status == Status.APPROVED:
        return f"Approved by {who}"
    if exception.status == Status.DENIED:
        return f"Denied by {who}"
    return STATUS_LABELS[Status(exception.status)]


def shown(exception: PolicyException, viewer: Any = None) -> dict[str, Any]:
    """One exception ready to print: labels and values in words, nothing to compute in templates."""
    parameter = _parameter(exception)
    describe = (lambda v: describe_value(parameter, v)) if parameter else str
    return {
        "exception": exception,
        "label": parameter.label if parameter else exception.parameter,
        "policy_text": describe(exception.policy_value),
        "granted_text": describe(exception.granted_value),
        "excess_text": _excess_words(parameter, exception.excess),
        "status_text": status_words(exception),
        "badge": {
            Status.GRANTED: "text-bg-success",
            Status.APPROVED: "text-bg-success",
            Status.PENDING: "text-bg-warning",
            Status.DENIED: "text-bg-danger",
            Status.WITHDRAWN: "text-bg-secondary",
        }.get(Status(exception.status), "text-bg-light"),
        "can_decide": bool(
            viewer is not None
            and parameter is not None
            and exception.requested_by_id != viewer.pk
            and covers(parameter, viewer, exception.excess or Decimal(0))
        ),
        "own": viewer is not None and exception.requested_by_id == viewer.pk,
        "limit": authority_of(parameter, viewer) if parameter and viewer else None,
    }


# --- the case panel --------------------------------------------------------------------------


def _fields_context(user: User, policy_key: str, parameter_key: str) -> dict[str, Any]:
    """The parameter part of the grant form for the chosen policy (and parameter)."""
    policy: Article | None = None
    if policy_key:
        try:
            policy = get_article_for(user, policy_key)
        except NotFound:
            policy = None
        if policy is not None and not policy.is_policy:
            policy = None
    parameters = policy_parameters(policy) if policy else []
    chosen = next((p for p in parameters if p.key == parameter_key), None)
    if chosen is None and parameters:
        chosen = parameters[0]
    return {
        "fields_policy": policy,
        "parameters": [
            {"key": p.key, "label": p.label, "policy_text": describe_value(p, p.value)}
            for p in parameters
        ],
        "chosen": chosen,
        "chosen_policy_text": describe_value(chosen, chosen.value) if chosen else "",
        "authority_text": describe_authority(chosen, user) if chosen else "",
    }


def _panel(
    request: DeskRequest,
    case: Any,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    success: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    form = form or {}
    context = {
        "case": case,
        "rows": [shown(e) for e in exceptions_of_case(user, case)],
        "policies": list(policies_for(user)),
        "form": form,
        "error": error,
        "success": success,
        "can_grant": not case.is_finished,
        **_fields_context(user, form.get("policy", ""), form.get("parameter", "")),
    }
    template = "knowledge/_case_exceptions.html"
    if not request.htmx:
        template = "knowledge/exception_case.html"
    return render(request, template, context, status=status)


@desk_view
@require_http_methods(["GET", "POST"])
def case_exceptions(request: DeskRequest, case_id: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if request.method == "GET":
        if request.GET.get("fields"):
            context = _fields_context(
                request.user, request.GET.get("policy", ""), request.GET.get("parameter", "")
            )
            return render(request, "knowledge/_exception_fields.html", {"form": {}, **context})
        return _panel(request, case)
    form = {
        key: (request.POST.get(key) or "").strip()
        for key in ("policy", "parameter", "value", "reason")
    }
    try:
        if not form["policy"]:
            raise InvalidInput("policy: choose the policy the exception departs from")
        try:
            article = get_article_for(request.user, form["policy"])
        except NotFound:
            raise InvalidInput("policy: that policy does not exist (any more)") from None
        exception = services.grant_exception(
            case=case,
            article=article,
            parameter=form["parameter"],
            granted_value=form["value"],
            reason=form["reason"],
            by=request.user,
        )
    except (InvalidInput, Conflict) as exc:
        # htmx only swaps 2xx answers: the form with its error comes back as 200 there.
        return _panel(
            request,
            case,
            form=form,
            error=f"{exc.detail[:1].upper()}{exc.detail[1:]}.",
            status=200 if request.htmx else 400,
        )
    row = shown(exception)
    if exception.status == Status.GRANTED:
        success = (
            f"Granted: {row['label']} {row['policy_text']} → {row['granted_text']}, "
            "recorded on the case."
        )
    else:
        success = (
            f"Sent for approval to supervisors: {row['label']} {row['policy_text']} → "
            f"{row['granted_text']} is beyond your authority."
        )
    if not request.htmx:
        messages.success(request, success)
        return redirect("desk:case", case_id=case.pk)
    return _panel(request, get_case_for(request.user, case_id), success=success)


# --- the approvals queue ---------------------------------------------------------------------


@desk_view
def approvals(request: DeskRequest) -> HttpResponse:
    cursor = request.GET.get("cursor") or None
    try:
        page = approvals_queue(request.user, cursor=cursor, limit=PAGE_SIZE)
    except InvalidInput as exc:
        messages.error(request, f"{exc.detail[:1].upper()}{exc.detail[1:]}.")
        return redirect("knowledge:approvals")
    context = {
        "page": page,
        "rows": [shown(e, request.user) for e in page.items],
        "paged": bool(cursor),
    }
    return render(request, "knowledge/approvals.html", context)


@desk_view
@require_POST
def decide(request: DeskRequest, exception_id: str) -> HttpResponse:
    exception = get_exception_for(request.user, exception_id)
    decision = request.POST.get("decision", "")
    back = reverse("knowledge:approvals")
    if decision == "withdraw":
        try:
            services.withdraw_exception(
                exception=exception, by=request.user, note=request.POST.get("note", "")
            )
        except (InvalidInput, Conflict) as exc:
            messages.error(request, f"{exc.detail[:1].upper()}{exc.detail[1:]}.")
        else:
            messages.success(request, "Request withdrawn.")
        return redirect("desk:case", case_id=exception.case_id)
    if decision not in ("approve", "deny"):
        messages.error(request, "Choose approve or deny.")
        return redirect(back)
    try:
        decided = services.decide_exception(
            exception=exception,
            by=request.user,
            approve=decision == "approve",
            note=request.POST.get("note", ""),
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"{exc.detail[:1].upper()}{exc.detail[1:]}.")
        return redirect(back)
    except PermissionDenied as exc:
        # Said in words (the bare 403 page would not say why, nor who may decide instead).
        context = {"detail": f"{exc.detail[:1].upper()}{exc.detail[1:]}.", "exception": exception}
        return render(request, "knowledge/exception_forbidden.html", context, status=403)
    row = shown(decided)
    verb = "Approved" if decided.status == Status.APPROVED else "Denied"
    messages.success(
        request,
        f"{verb}: {row['label']} {row['policy_text']} → {row['granted_text']} for "
        f"{decided.customer.name}. The agent and the case see the outcome.",
    )
    return redirect(back)


# --- the register ----------------------------------------------------------------------------

CSV_HEADER = (
    "created_at",
    "status",
    "policy",
    "policy_slug",
    "version",
    "parameter",
    "policy_value",
    "granted_value",
    "excess",
    "reason",
    "case_id",
    "customer",
    "site",
    "requested_by",
    "decided_by",
    "decided_at",
    "decision_note",
)


def _csv(user: User, filters: ExceptionFilters) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="policy-exceptions-{stamp}.csv"'},
    )
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for e in register_rows(user, filters):
        row = [
            e.created_at.isoformat(),
            e.status,
            e.version.title,
            e.article.slug,
            e.version.number,
            e.parameter,
            e.policy_value,
            e.granted_value,
            e.excess,
            e.reason,
            e.case_id,
            e.customer.name,
            e.site.code if e.site else "",
            e.requested_by.username,
            e.decided_by.username if e.decided_by else "",
            e.decided_at.isoformat() if e.decided_at else "",
            e.decision_note,
        ]
        writer.writerow([csv_cell(v) for v in row])
    return response


@desk_view
def register(request: DeskRequest) -> HttpResponse:
    user = request.user
    try:
        filters = ExceptionFilters.parse(
            user,
            policy=request.GET.get("policy"),
            site=request.GET.get("site"),
            agent=request.GET.get("agent"),
            status=request.GET.get("status"),
            since=request.GET.get("since"),
            until=request.GET.get("until"),
        )
    except InvalidInput as exc:
        messages.warning(request, f"Filters ignored: {exc.detail}.")
        filters = ExceptionFilters()
    if request.GET.get("format") == "csv":
        return _csv(user, filters)
    cursor = request.GET.get("cursor") or None
    try:
        page = exception_register(user, filters, cursor=cursor, limit=PAGE_SIZE)
    except InvalidInput as exc:
        messages.error(request, f"{exc.detail[:1].upper()}{exc.detail[1:]}.")
        return redirect("knowledge:exceptions")
    context = {
        "page": page,
        "rows": [shown(e) for e in page.items],
        "filters": filters,
        "raw": filters.raw,
        "status_tabs": [
            (value, STATUS_LABELS[Status(value)], page.counts.get(value, 0))
            for value in Status.values
        ],
        "total": sum(page.counts.values()),
        "policies": list(policies_for(user)),
        "sites": list(Site.objects.order_by("name")),
        "agents": list(
            User.objects.filter(
                pk__in=PolicyException.objects.values("requested_by").distinct()
            ).order_by("first_name", "last_name", "username")
        ),
        "paged": bool(cursor),
    }
    return render(request, "knowledge/exceptions.html", context)
