from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from loxodon.cases.models import Case, Handoff, Task
from loxodon.core.schemas import StrictIn
from loxodon.timeline.schemas import ChannelName

PriorityName = Literal["low", "normal", "high", "urgent"]


KEY_HELP = (
    "with `external_id`: the sending system's key for this case. A repeat of the key returns "
    "the case opened the first time (200) instead of opening another"
)


class CaseIn(StrictIn):
    customer_id: uuid.UUID
    problem: str = Field(min_length=1, max_length=20_000)
    owner: str | None = None
    priority: PriorityName = "normal"
    site: str | None = None
    source: str = Field(default="", max_length=64, description=KEY_HELP)
    external_id: str = Field(default="", max_length=200, description=KEY_HELP)


class CaseBatchIn(StrictIn):
    cases: list[CaseIn] = Field(min_length=1, max_length=1000)


VERSION_HELP = (
    "the case `version` you read: when the case has changed since, nothing is saved and the "
    'answer is 409 with the current case (`case`). Or send it as `If-Match: "<version>"`. '
    "Leave both out to apply the change to whatever is current."
)


class CaseChangeIn(StrictIn):
    """A change to a case, optionally guarded by the version the client read."""

    version: int | None = Field(default=None, ge=1, description=VERSION_HELP)


class AssignIn(CaseChangeIn):
    owner: str = Field(min_length=1)


class TaskIn(CaseChangeIn):
    department: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=200)
    assignee: str | None = None


class CompleteIn(CaseChangeIn):
    note: str = Field(min_length=1, max_length=20_000)


class NoteIn(CaseChangeIn):
    body: str = Field(min_length=1, max_length=50_000)


class HandoffIn(CaseChangeIn):
    to: str = Field(min_length=1)
    context: str = Field(min_length=1, max_length=20_000)


class WaitingIn(CaseChangeIn):
    on: Literal["customer", "us", "none"]
    reason: str = ""


class ProposeIn(CaseChangeIn):
    summary: str = Field(min_length=1, max_length=20_000)


class ConfirmIn(CaseChangeIn):
    via: ChannelName
    event_id: uuid.UUID | None = None


class ReasonIn(CaseChangeIn):
    reason: str = Field(min_length=1, max_length=20_000)


class TaskOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    department: str
    department_name: str
    title: str
    assignee: str | None
    status: str
    completed_at: datetime | None
    completed_by: str | None
    completion_note: str
    created_at: datetime


class HandoffOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    from_user: str | None
    to_user: str
    context: str
    created_at: datetime


class CaseOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    title: str
    problem: str
    status: str
    priority: str
    owner: str | None
    site: str | None
    resolution_summary: str
    resolved_at: datetime | None
    closed_reason: str
    reopen_count: int
    version: int
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]
    tasks: list[TaskOut]


class CaseDetailOut(CaseOut):
    handoffs: list[HandoffOut]


def _username(user: Any) -> str | None:
    return user.username if user is not None else None


def task_out(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "case_id": t.case_id,
        "department": t.department.code,
        "department_name": t.department.name,
        "title": t.title,
        "assignee": _username(t.assignee),
        "status": t.status,
        "completed_at": t.completed_at,
        "completed_by": _username(t.completed_by),
        "completion_note": t.completion_note,
        "created_at": t.created_at,
    }


def handoff_out(h: Handoff) -> dict[str, Any]:
    return {
        "id": h.id,
        "case_id": h.case_id,
        "from_user": _username(h.from_user),
        "to_user": h.to_user.username,
        "context": h.context,
        "created_at": h.created_at,
    }


def case_out(
    c: Case, *, with_handoffs: bool = False, tasks: list[Task] | None = None
) -> dict[str, Any]:
    """The case as the API shows it; `tasks` when the caller has them (a new case: none)."""
    out = {
        "id": c.id,
        "customer_id": c.customer_id,
        "title": c.title,
        "problem": c.problem,
        "status": c.status,
        "priority": c.priority,
        "owner": _username(c.owner),
        "site": c.site.code if c.site else None,
        "resolution_summary": c.resolution_summary,
        "resolved_at": c.resolved_at,
        "closed_reason": c.closed_reason,
        "reopen_count": c.reopen_count,
        "version": c.version,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "allowed_actions": c.allowed_actions(),
        "tasks": [task_out(t) for t in (c.tasks.all() if tasks is None else tasks)],
    }
    if with_handoffs:
        out["handoffs"] = [handoff_out(h) for h in c.handoffs.all()]
    return out
