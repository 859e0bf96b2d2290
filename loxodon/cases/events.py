"""The timeline events the cases app writes: one function per kind of case change."""

from __future__ import annotations

from typing import Any

from loxodon.cases.models import Case, Handoff, Task
from loxodon.org.models import User
from loxodon.timeline.models import Event
from loxodon.timeline.services import own_event, record_events


def _case_event(case: Case, kind: str, summary: str, **fields: Any) -> Event:
    """Write one event about the case (the fields as for `_unsaved`)."""
    (event,) = record_events([_unsaved(case, kind, summary, **fields)])
    return event


def _unsaved(
    case: Case,
    kind: str,
    summary: str,
    *,
    actor: User | None,
    body: str = "",
    payload: dict[str, Any] | None = None,
    channel: str = "system",
) -> Event:
    return own_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind=kind,
        summary=summary,
        actor=actor,
        site=case.site,
        body=body,
        payload={"case_id": str(case.pk), **(payload or {})},
        channel=channel,
    )


def cases_opened(cases: list[Case], actor: User | None) -> list[Event]:
    """`case_opened` for each new case, and who owns it when it was opened with an owner: one
    INSERT for the lot (`open_cases`)."""
    drafts = []
    for case in cases:
        drafts.append(
            _unsaved(
                case, "case_opened", f"Case opened: {case.title}", actor=actor, body=case.problem
            )
        )
        if case.owner is not None:
            drafts.append(_owner_unsaved(case, actor))
    return record_events(drafts)


def status_changed(case: Case, old: str, new: str, actor: User | None, reason: str = "") -> Event:
    summary = f"Case status: {old.replace('_', ' ')} → {new.replace('_', ' ')}"
    return _case_event(
        case,
        "status_change",
        summary,
        actor=actor,
        body=reason,
        payload={"from": old, "to": new},
    )


def task_added(task: Task, actor: User | None) -> Event:
    return _case_event(
        task.case,
        "task_added",
        f"Task for {task.department.name}: {task.title}",
        actor=actor,
        payload={"task_id": str(task.pk), "department": task.department.code},
    )


def task_completed(task: Task, actor: User | None) -> Event:
    return _case_event(
        task.case,
        "task_completed",
        f"{task.department.name} completed: {task.title}",
        actor=actor,
        body=task.completion_note,
        payload={"task_id": str(task.pk), "department": task.department.code},
    )


def note_added(case: Case, body: str, actor: User | None) -> Event:
    first = body.strip().splitlines()[0] if body.strip() else ""
    return _case_event(case, "note", f"Note: {first[:200]}", actor=actor, body=body)


def handed_off(handoff: Handoff, actor: User | None) -> Event:
    to = handoff.to_user.display_name
    return _case_event(
        handoff.case,
        "handoff",
        f"Handed off to {to}",
        actor=actor,
        body=handoff.context,
        payload={
            "handoff_id": str(handoff.pk),
            "to": handoff.to_user.username,
            "from": handoff.from_user.username if handoff.from_user else None,
        },
    )


def owner_assigned(case: Case, actor: User | None) -> Event:
    (event,) = record_events([_owner_unsaved(case, actor)])
    return event


def _owner_unsaved(case: Case, actor: User | None) -> Event:
    owner = case.owner.display_name if case.owner else "nobody"
    return _unsaved(
        case,
        "status_change",
        f"Owner: {owner}",
        actor=actor,
        payload={"owner": case.owner.username if case.owner else None},
    )


def customer_confirmed(case: Case, via: str, actor: User | None, contact: Event | None) -> Event:
    return _case_event(
        case,
        "confirmation",
        "Customer confirmed the problem is solved",
        actor=actor,
        channel=via,
        payload={"contact_event_id": str(contact.pk) if contact else None},
    )
