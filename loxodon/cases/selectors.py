"""Reads of cases, each behind the access check."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Case as SqlCase
from django.db.models import (
    Count,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)

from loxodon.cases.models import OPEN_STATUSES, Case, Task, TaskStatus
from loxodon.core.access import require_staff
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import NotFound
from loxodon.core.event_types import CONTACT_KINDS
from loxodon.core.ids import parse_uuid
from loxodon.timeline.models import Event
from loxodon.timeline.selectors import TimelinePage


def _tasks() -> Prefetch:
    return Prefetch(
        "tasks", queryset=Task.objects.select_related("department", "assignee", "completed_by")
    )


def get_case_for(user: Any, case_id: str | uuid.UUID) -> Case:
    require_staff(user)
    pk = parse_uuid(case_id, "case")
    case = (
        Case.objects.select_related("owner__department", "site", "customer", "sla_clock__standard")
        .prefetch_related(_tasks(), "handoffs__from_user", "handoffs__to_user")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise NotFound(f"no case with id '{case_id}'")
    return case


def get_task_for(user: Any, task_id: str | uuid.UUID) -> Task:
    require_staff(user)
    pk = parse_uuid(task_id, "task")
    task = Task.objects.select_related("case", "department").filter(pk=pk).first()
    if task is None:
        raise NotFound(f"no task with id '{task_id}'")
    return task


def cases_of_customer(user: Any, customer_id: uuid.UUID, closed_limit: int = 10) -> list[Case]:
    """Open cases first (all of them), then the most recent finished ones: three queries."""
    require_staff(user)
    base = Case.objects.filter(customer_id=customer_id).select_related("owner", "site", "sla_clock")
    cases = list(base.filter(status__in=OPEN_STATUSES).order_by("-updated_at"))
    cases += list(base.exclude(status__in=OPEN_STATUSES).order_by("-updated_at")[:closed_limit])
    prefetch_related_objects(cases, _tasks())
    return cases


QUEUES = {
    "my-cases": "My cases",
    "my-tasks": "My tasks",
    "department": "My department's open tasks",
    "site": "My site's cases",
}
CASE_SORTS: dict[str, Any] = {
    "updated": "-updated_at",
    "oldest": "updated_at",
    "created": "-created_at",
    "priority": "priority_rank",
    # service standards: the earliest due target first, cases without a clock last
    "due": F("sla_clock__next_due_at").asc(nulls_last=True),
}
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def _case_queue(user: Any, queue: str) -> QuerySet[Case]:
    base = Case.objects.filter(status__in=OPEN_STATUSES)
    if queue == "my-cases":
        return base.filter(owner=user)
    return base.filter(site_id=user.site_id) if user.site_id else base.none()


def _task_queue(user: Any, queue: str) -> QuerySet[Task]:
    base = Task.objects.filter(status=TaskStatus.OPEN)
    if queue == "my-tasks":
        return base.filter(assignee=user)
    return base.filter(department_id=user.department_id) if user.department_id else base.none()


def queue_counts(user: Any) -> dict[str, int]:
    """How many items wait in each queue (one aggregate query per queue)."""
    require_staff(user)
    return {
        "my-cases": _case_queue(user, "my-cases").count(),
        "my-tasks": _task_queue(user, "my-tasks").count(),
        "department": _task_queue(user, "department").count(),
        "site": _case_queue(user, "site").count(),
    }


def _priority_rank(field: str = "priority") -> Any:
    """Urgent first: the priority as a sortable number (for a case, or `case__priority`)."""
    return SqlCase(
        *[When(**{field: p}, then=Value(rank)) for p, rank in PRIORITY_RANK.items()],
        default=Value(9),
        output_field=IntegerField(),
    )


def case_queue(
    user: Any,
    queue: str,
    *,
    status: str | None = None,
    priority: str | None = None,
    sort: str = "updated",
) -> QuerySet[Case]:
    require_staff(user)
    qs = _case_queue(user, queue).select_related("customer", "owner", "site", "sla_clock")
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    qs = qs.annotate(
        priority_rank=_priority_rank(),
        open_tasks=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN)),
    )
    return qs.order_by(CASE_SORTS.get(sort, "-updated_at"), "-id")


def task_queue(
    user: Any, queue: str, *, priority: str | None = None, sort: str = "updated"
) -> QuerySet[Task]:
    require_staff(user)
    qs = _task_queue(user, queue).select_related(
        "case", "case__customer", "case__owner", "department", "assignee"
    )
    if priority:
        qs = qs.filter(case__priority=priority)
    order = (
        F("case__sla_clock__next_due_at").asc(nulls_last=True)
        if sort == "due"
        else CASE_SORTS.get(sort, "-updated_at")
    )
    return qs.annotate(priority_rank=_priority_rank("case__priority")).order_by(order, "-id")


def case_stream(
    user: Any, case: Case, *, cursor: str | None = None, limit: int = 30
) -> TimelinePage:
    """Everything that happened on the case, from every department, newest first, paged."""
    require_staff(user)
    qs = Event.objects.filter(case_id=case.pk)
    if cursor:
        at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk))
    rows = list(
        qs.select_related("actor", "actor__department", "site").order_by("-occurred_at", "-id")[
            : limit + 1
        ]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more and rows else None
    return TimelinePage(items=rows, next_cursor=next_cursor)


def recent_contacts_of(user: Any, customer_id: uuid.UUID, limit: int = 10) -> list[Event]:
    """The customer's latest contacts, to link a confirmation to the one it came from."""
    require_staff(user)
    return list(
        Event.objects.filter(customer_id=customer_id, kind__in=CONTACT_KINDS)
        .exclude(kind="confirmation")
        .exclude(payload__has_key="direction", payload__direction="outbound")
        .order_by("-occurred_at", "-id")[:limit]
    )
