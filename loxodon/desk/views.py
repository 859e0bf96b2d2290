"""The agent desk: thin views over selectors (reads) and services (writes).

One view serves the full page or, for HTMX requests, just the partial that changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from loxodon.cases import services as case_services
from loxodon.cases.models import Case, CaseStatus, Priority
from loxodon.cases.selectors import (
    CASE_SORTS,
    QUEUES,
    case_queue,
    case_stream,
    get_case_for,
    get_task_for,
    queue_counts,
    recent_contacts_of,
    task_queue,
)
from loxodon.core.access import require_admin
from loxodon.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from loxodon.core.event_types import KINDS, Channel
from loxodon.customers.merging import survivor_id_of
from loxodon.customers.selectors import customer_view, get_customer_for
from loxodon.desk import forms as desk_forms
from loxodon.desk.selectors import merge_history, told_us
from loxodon.desk.selectors import search as search_all
from loxodon.org.models import User
from loxodon.org.selectors import staff_for
from loxodon.outbound.panel import panel_context as outbox_panel_context
from loxodon.timeline.services import record_repeat

PAGE_SIZE = 25


class DeskRequest(HttpRequest):
    """What a desk view receives: a signed-in member of staff (login_required) and htmx."""

    user: User
    htmx: Any


def desk_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff only; unknown/forbidden objects are 404, missing roles 403."""

    @login_required
    @wraps(view)
    def wrapped(request: DeskRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.detail) from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.detail) from None

    return wrapped


def _partial(
    request: DeskRequest, page: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    return render(request, partial if request.htmx else page, context)


@desk_view
def home(request: DeskRequest) -> HttpResponse:
    user = request.user
    queue = request.GET.get("queue", "my-cases")
    if queue not in QUEUES:
        queue = "my-cases"
    sort = request.GET.get("sort", "updated")
    priority = request.GET.get("priority") or None
    status = request.GET.get("status") or None
    if priority not in Priority.values:
        priority = None
    if status not in CaseStatus.values:
        status = None
    is_task_queue = queue in ("my-tasks", "department")
    items = (
        task_queue(user, queue, priority=priority, sort=sort)
        if is_task_queue
        else case_queue(user, queue, status=status, priority=priority, sort=sort)
    )
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = queue_counts(user)
    context = {
        "queue": queue,
        "tabs": [(key, label, counts[key]) for key, label in QUEUES.items()],
        "page": page,
        "is_task_queue": is_task_queue,
        "sort": sort if sort in CASE_SORTS else "updated",
        "sorts": {
            "updated": "Recently updated",
            "oldest": "Waiting longest",
            "created": "Newest",
            "priority": "Priority",
            "due": "Service standard due",
        },
        "priority": priority or "",
        "status": status or "",
        "priorities": Priority.choices,
        "statuses": [
            (s, label)
            for s, label in CaseStatus.choices
            if s not in ("resolved_confirmed", "closed_unconfirmed")
        ],
    }
    return _partial(request, "desk/home.html", "desk/_queue.html", context)


@desk_view
def customer_page(request: DeskRequest, customer_id: str) -> HttpResponse:
    channel = request.GET.get("channel") or None
    kind = request.GET.get("kind") or None
    cursor = request.GET.get("cursor") or None
    try:
        view = customer_view(
            request.user, customer_id, cursor=cursor, channel=channel, kind=kind, limit=30
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, exc.detail)
        return redirect("desk:customer", customer_id=customer_id)
    if view.customer.merged_into_id is not None:
        # A record merged away: its history lives on the survivor now.
        messages.info(
            request,
            f"{view.customer.name} was merged into another customer: showing that customer.",
        )
        return redirect("desk:customer", customer_id=survivor_id_of(view.customer.pk))
    context = {
        "view": view,
        "customer": view.customer,
        "channel": channel or "",
        "kind": kind or "",
        "channels": Channel.ALL,
        "kinds": sorted(KINDS.values(), key=lambda k: k.label),
        "live_customer": view.customer.pk,
    }
    if request.htmx:
        return render(request, "desk/_timeline_page.html", context)
    context["told_us"] = told_us(request.user, view.customer.pk)
    context["merge_history"] = merge_history(request.user, view.customer)
    context["repeat_form"] = desk_forms.RepeatForm()
    context["open_case_form"] = desk_forms.OpenCaseForm()
    return render(request, "desk/customer.html", context)


@desk_view
@require_POST
def open_case(request: DeskRequest, customer_id: str) -> HttpResponse:
    """Open one case for the customer's problem, owned by the agent who took it."""
    customer = get_customer_for(request.user, customer_id)
    form = desk_forms.OpenCaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not opened: write the problem in the customer's words.")
        return redirect("desk:customer", customer_id=customer.pk)
    case = case_services.open_case(
        customer=customer,
        problem=form.cleaned_data["problem"],
        priority=form.cleaned_data["priority"],
        owner=request.user,
        actor=request.user,
    )
    messages.success(request, "Case opened: you own it until the customer confirms it is solved.")
    return redirect("desk:case", case_id=case.pk)


@desk_view
@require_POST
def customer_repeat(request: DeskRequest, customer_id: str) -> HttpResponse:
    customer = get_customer_for(request.user, customer_id)
    form = desk_forms.RepeatForm(request.POST)
    what = form.cleaned_data["what"] if form.is_valid() else ""
    record_repeat(customer=customer, actor=request.user, what=what)
    messages.success(request, "Recorded: the customer had to repeat information.")
    return redirect("desk:customer", customer_id=customer.pk)


def _assign(case: Case, actor: User, data: dict[str, Any]) -> str:
    case_services.assign_owner(
        case=case, owner=data["owner"], actor=actor, expected_version=data["expected_version"]
    )
    return "Owner assigned."


def _add_task(case: Case, actor: User, data: dict[str, Any]) -> str:
    task = case_services.add_task(case=case, actor=actor, **data)
    return f"Task added for {task.department.name}."


def _note(case: Case, actor: User, data: dict[str, Any]) -> str:
    case_services.add_note(case=case, body=data["body"], actor=actor)
    return "Note added."


def _hand_off(case: Case, actor: User, data: dict[str, Any]) -> str:
    handoff = case_services.hand_off(case=case, actor=actor, **data)
    return f"Handed off to {handoff.to_user.display_name} with your context."


def _wait(case: Case, actor: User, data: dict[str, Any]) -> str:
    case_services.set_waiting(case=case, actor=actor, **data)
    return "Updated whose move it is."


def _propose(case: Case, actor: User, data: dict[str, Any]) -> str:
    case_services.propose_resolution(
        case=case, summary=data["summary"], actor=actor, expected_version=data["expected_version"]
    )
    return "Resolution proposed: the case stays open until the customer confirms."


def _confirm(case: Case, actor: User, data: dict[str, Any]) -> str:
    event_id = data["event_id"]
    case_services.confirm_resolution(
        case=case,
        via=data["via"],
        actor=actor,
        contact_event_id=uuid.UUID(event_id) if event_id else None,
        expected_version=data["expected_version"],
    )
    return "The customer's confirmation is recorded: resolved."


def _reopen(case: Case, actor: User, data: dict[str, Any]) -> str:
    case_services.reopen_case(
        case=case, reason=data["reason"], actor=actor, expected_version=data["expected_version"]
    )
    return "Case reopened."


def _close_unconfirmed(case: Case, actor: User, data: dict[str, Any]) -> str:
    case_services.close_unconfirmed(
        case=case, reason=data["reason"], actor=actor, expected_version=data["expected_version"]
    )
    return "Closed without confirmation."


# Each case action: the form that validates it and the service call that performs it. The case
# page offers the ones `case.allowed_actions()` names; the services refuse the rest anyway.
CASE_ACTIONS: dict[str, tuple[type[forms.Form], Callable[[Case, User, dict[str, Any]], str]]] = {
    "assign": (desk_forms.AssignForm, _assign),
    "add_task": (desk_forms.TaskForm, _add_task),
    "note": (desk_forms.NoteForm, _note),
    "hand_off": (desk_forms.HandoffForm, _hand_off),
    "wait": (desk_forms.WaitingForm, _wait),
    "propose_resolution": (desk_forms.ProposeForm, _propose),
    "confirm": (desk_forms.ConfirmForm, _confirm),
    "reopen": (desk_forms.ReasonForm, _reopen),
    "close_unconfirmed": (desk_forms.ReasonForm, _close_unconfirmed),
}


# Actions that decide the case's state or owner carry the version the page showed (a hidden
# field): when the case changed meanwhile (the customer replied, a colleague closed it) they are
# refused with what changed, instead of acting on a picture that is no longer true. Notes and
# tasks only add to the case and apply to whatever is current.
GUARDED_ACTIONS = frozenset(
    {"assign", "hand_off", "wait", "propose_resolution", "confirm", "reopen", "close_unconfirmed"}
)


def _posted_version(request: DeskRequest, action: str) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if action in GUARDED_ACTIONS and raw.isdigit() else None


def _action_form(action: str, contacts: list[Any], *args: Any, **kwargs: Any) -> forms.Form:
    form_class = CASE_ACTIONS[action][0]
    if form_class is desk_forms.ConfirmForm:
        kwargs["contacts"] = contacts
    return form_class(*args, **kwargs)


def _case_forms(case: Case, contacts: list[Any]) -> dict[str, forms.Form]:
    allowed = set(case.allowed_actions())
    if case.owner_id is not None:
        allowed.discard("assign")
    # Element ids are per action (several forms have a "reason"); field names stay plain.
    return {
        name: _action_form(name, contacts, auto_id=f"{name}-%s")
        for name in CASE_ACTIONS
        if name in allowed
    }


@desk_view
def case_page(request: DeskRequest, case_id: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    try:
        stream = case_stream(request.user, case, cursor=request.GET.get("cursor") or None)
    except InvalidInput as exc:
        messages.error(request, exc.detail)
        return redirect("desk:case", case_id=case.pk)
    if request.htmx and request.GET.get("cursor"):
        return render(request, "desk/_stream_page.html", {"case": case, "stream": stream})
    contacts = recent_contacts_of(request.user, case.customer_id)
    tasks = sorted(case.tasks.all(), key=lambda t: (t.department.name, t.created_at))
    handoffs = list(case.handoffs.all())
    latest_handoff = handoffs[-1] if handoffs else None
    context = {
        "case": case,
        "customer": case.customer,
        "tasks_by_department": [(d, list(ts)) for d, ts in groupby(tasks, lambda t: t.department)],
        "open_tasks": sum(1 for t in tasks if t.status == "open"),
        "stream": stream,
        "handoffs": handoffs,
        "handoff_for_me": latest_handoff
        if latest_handoff and latest_handoff.to_user_id == request.user.pk
        else None,
        "forms": _case_forms(case, contacts),
        "complete_form": desk_forms.CompleteTaskForm(),
        "live_case": case.pk,
    }
    # "Message to the customer": the outbox (one query) and the compose form (outbound app).
    context.update(outbox_panel_context(request.user, case))
    return render(request, "desk/case.html", context)


def _run_case_action(request: DeskRequest, case: Case, action: str) -> str:
    """Validate the form for `action` and call its service; returns a success message."""
    if action not in CASE_ACTIONS:
        raise Http404("unknown action")
    contacts = recent_contacts_of(request.user, case.customer_id) if action == "confirm" else []
    form = _action_form(action, contacts, request.POST)
    if form.is_valid():
        data = {**form.cleaned_data, "expected_version": _posted_version(request, action)}
        return CASE_ACTIONS[action][1](case, request.user, data)
    errors = "; ".join(
        f"{name.replace('_', ' ')}: {' '.join(str(e) for e in errs)}"
        for name, errs in form.errors.items()
    )
    raise DomainError(errors or "please check the form")


@desk_view
@require_POST
def case_action(request: DeskRequest, case_id: str, action: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    try:
        messages.success(request, _run_case_action(request, case, action))
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, f"Not done: {exc.detail}")
    return redirect("desk:case", case_id=case.pk)


@desk_view
@require_POST
def complete_task(request: DeskRequest, task_id: str) -> HttpResponse:
    task = get_task_for(request.user, task_id)
    form = desk_forms.CompleteTaskForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("say what was done (a note is required)")
        case_services.complete_task(task=task, note=form.cleaned_data["note"], actor=request.user)
        messages.success(request, f"{task.department.name} task completed.")
    except DomainError as exc:
        messages.error(request, f"Not done: {exc.detail}")
    return redirect(reverse("desk:case", kwargs={"case_id": task.case_id}) + "#tasks")


@desk_view
def search(request: DeskRequest) -> HttpResponse:
    results = search_all(request.user, request.GET.get("q", ""))
    return _partial(request, "desk/search.html", "desk/_search_results.html", {"results": results})


@desk_view
def admin_staff(request: DeskRequest) -> HttpResponse:
    """Administration: staff and their roles (admins only)."""
    require_admin(request.user)
    staff = Paginator(staff_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "desk/admin_staff.html", {"page": staff})
