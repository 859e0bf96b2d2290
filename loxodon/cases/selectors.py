"""Reads of cases, each behind the access check."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects

from loxodon.cases.models import OPEN_STATUSES, Case, Task
from loxodon.core.access import require_staff
from loxodon.core.errors import NotFound
from loxodon.core.ids import parse_uuid


def _tasks() -> Prefetch:
    return Prefetch(
        "tasks", queryset=Task.objects.select_related("department", "assignee", "completed_by")
    )


def get_case_for(user: Any, case_id: str | uuid.UUID) -> Case:
    require_staff(user)
    pk = parse_uuid(case_id, "case")
    case = (
        Case.objects.select_related("owner", "site", "customer")
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
    base = Case.objects.filter(customer_id=customer_id).select_related("owner", "site")
    cases = list(base.filter(status__in=OPEN_STATUSES).order_by("-updated_at"))
    cases += list(base.exclude(status__in=OPEN_STATUSES).order_by("-updated_at")[:closed_limit])
    prefetch_related_objects(cases, _tasks())
    return cases
