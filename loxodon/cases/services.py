"""Every change to a case: one function per verb. Each owns its transaction, locks the case row,
checks the model's predicate, bumps the version and writes the timeline event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loxodon.cases import events
from loxodon.cases.models import Case, CaseStatus, Handoff, Priority, Task, TaskStatus
from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.core.event_types import Channel
from loxodon.customers.models import Customer
from loxodon.insights.tasks import survey_after_resolution
from loxodon.org.models import Department, Site, User
from loxodon.sla.schedule import schedule_sla_check, schedule_sla_checks
from loxodon.timeline.models import Event


class StaleVersion(Conflict):
    """The client changed the case as it was at `expected` but it has moved on (optimistic
    concurrency): nothing was written; `case` is the current state, read under the lock."""

    def __init__(self, case: Case, expected: int) -> None:
        super().__init__(
            f"the case changed since you read it (you sent version {expected}, it is now at "
            f"version {case.version}): nothing was saved; review the current case and try again",
            current_version=case.version,
        )
        self.case = case


def _locked(case: Case, expected_version: int | None = None) -> Case:
    """Re-read the case under a row lock (consistent lock order: case before its tasks).

    With `expected_version` (the version the client read), a case that has changed since is
    refused with `StaleVersion`; without it the change applies to whatever is current.
    """
    current = (
        Case.objects.select_for_update(of=("self",)).select_related("site", "owner").get(pk=case.pk)
    )
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(current, expected_version)
    return current


def _illegal(case: Case, action: str) -> Conflict:
    return Conflict(
        f"cannot {action} a case that is {case.status.replace('_', ' ')}",
        status=case.status,
        allowed_actions=case.allowed_actions(),
    )


def _required(text: str, what: str) -> str:
    if not text or not text.strip():
        raise InvalidInput(f"{what} is required and must not be empty")
    return text.strip()


def _set_status(case: Case, new: str, actor: User | None, reason: str = "") -> None:
    old = case.status
    case.status = new
    events.status_changed(case, old, new, actor, reason)


def _save(case: Case, *fields: str) -> None:
    case.version += 1
    case.save(update_fields=[*fields, "version", "updated_at"])


@dataclass(frozen=True)
class CaseDraft:
    """A case to open, in the customer's words. `(source, external_id)`, given together, is an
    integration's key for it: a repeat delivery returns the case opened the first time."""

    customer: Customer
    problem: str
    owner: User | None = None
    priority: str = Priority.NORMAL
    site: Site | None = None
    source: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class Opened:
    case: Case
    created: bool  # False: a repeat of a key opened before (nothing written)


def open_case(
    *,
    customer: Customer,
    problem: str,
    actor: User | None,
    owner: User | None = None,
    priority: str = Priority.NORMAL,
    site: Site | None = None,
) -> Case:
    """Open a case in the customer's words. With an owner it is `open`, otherwise `new`."""
    draft = CaseDraft(customer=customer, problem=problem, owner=owner, priority=priority, site=site)
    (opened,) = open_cases([draft], actor=actor)
    return opened.case


def open_cases(drafts: Sequence[CaseDraft], *, actor: User | None) -> list[Opened]:
    """Open cases at once (integrations, imports, `POST /cases/batch`): all of them, or none.

    - Every draft is checked before anything is written; one bad draft refuses the batch, and
      the message names it (`cases[3]: ...`).
    - A key `(source, external_id)` opened before returns that case and writes nothing; the
      same key with another customer or problem is a Conflict (409), as for events.
    - A case without a site gets the site of the member of staff who opens it.
    """
    if len(drafts) > settings.LOXODON_MAX_BATCH:
        raise InvalidInput(f"a batch holds at most {settings.LOXODON_MAX_BATCH} cases")
    checked: list[CaseDraft] = []
    first: dict[tuple[str, str], int] = {}
    for i, draft in enumerate(drafts):
        where = f"cases[{i}]: " if len(drafts) > 1 else ""
        problem = _required(draft.problem, f"{where}problem")
        if draft.priority not in Priority.values:
            raise InvalidInput(f"{where}priority must be one of: {', '.join(Priority.values)}")
        if bool(draft.source) != bool(draft.external_id):
            raise InvalidInput(f"{where}give source and external_id together, or neither")
        draft = replace(draft, problem=problem, site=draft.site or (actor.site if actor else None))
        if draft.external_id:
            key = (draft.source, draft.external_id)
            j = first.setdefault(key, i)
            if j != i and not _same_case(checked[j], draft):
                raise Conflict(
                    f"{where}source/external_id {key} repeats cases[{j}] with another customer "
                    "or problem"
                )
        checked.append(draft)
    # Two tries: a concurrent delivery of the same key may commit between our read and write;
    # the second pass finds it and answers as for any repeat.
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _open(checked, first, actor)
        except IntegrityError:
            if attempt == 2:
                raise Conflict("cases could not be opened: concurrent conflicting writes") from None
    raise AssertionError("unreachable")


def _same_case(draft: CaseDraft, other: CaseDraft | Case) -> bool:
    customer_id = other.customer_id if isinstance(other, Case) else other.customer.pk
    return draft.customer.pk == customer_id and draft.problem == other.problem


def _open(
    drafts: list[CaseDraft], first: dict[tuple[str, str], int], actor: User | None
) -> list[Opened]:
    stored: dict[tuple[str, str], Case] = {}
    if first:
        ids = {external_id for _, external_id in first}
        for case in Case.objects.filter(external_id__in=ids):
            stored[(case.source, case.external_id)] = case
    results: list[Opened | None] = []
    new: list[Case] = []
    for i, draft in enumerate(drafts):
        key = (draft.source, draft.external_id)
        before = stored.get(key) if draft.external_id else None
        if before is not None:
            if not _same_case(draft, before):
                where = f"cases[{i}]: " if len(drafts) > 1 else ""
                raise Conflict(
                    f"{where}source/external_id {key} was opened before as case {before.pk} "
                    "for another customer or problem",
                    case_id=str(before.pk),
                )
            results.append(Opened(before, created=False))
        elif draft.external_id and first[key] != i:
            results.append(None)  # the same key earlier in this batch: its case, filled below
        else:
            case = Case(
                customer=draft.customer,
                problem=draft.problem,
                priority=draft.priority,
                site=draft.site,
                owner=draft.owner,
                opened_by=actor,
                status=CaseStatus.OPEN if draft.owner else CaseStatus.NEW,
                source=draft.source,
                external_id=draft.external_id,
            )
            new.append(case)
            results.append(Opened(case, created=True))
    if new:
        Case.objects.bulk_create(new)
        events.cases_opened(new, actor)
        new_ids = [case.pk for case in new]
        transaction.on_commit(lambda: schedule_sla_checks(new_ids))  # service standards (ADR 10)
    out: list[Opened] = []
    for i, result in enumerate(results):
        if result is None:
            result = Opened(out[first[(drafts[i].source, drafts[i].external_id)]].case, False)
        out.append(result)
    return out


@transaction.atomic
def assign_owner(
    *, case: Case, owner: User, actor: User | None, expected_version: int | None = None
) -> Case:
    """Give a new case its one accountable owner (later changes of owner are handoffs)."""
    case = _locked(case, expected_version)
    if not case.can_assign():
        raise _illegal(case, "assign")
    if case.owner_id is not None:
        raise Conflict("this case already has an owner: hand it off with context instead")
    case.owner = owner
    events.owner_assigned(case, actor)
    if case.status == CaseStatus.NEW:
        _set_status(case, CaseStatus.OPEN, actor)
    _save(case, "owner", "status")
    return case


@transaction.atomic
def add_task(
    *,
    case: Case,
    department: Department,
    title: str,
    actor: User | None,
    assignee: User | None = None,
    expected_version: int | None = None,
) -> Task:
    """Get another department's work done without transferring the customer."""
    title = _required(title, "title")
    case = _locked(case, expected_version)
    if not case.can_add_task():
        raise _illegal(case, "add a task to")
    task = Task.objects.create(
        case=case, department=department, title=title, assignee=assignee, created_by=actor
    )
    events.task_added(task, actor)
    changed = []
    if case.status == CaseStatus.RESOLUTION_PROPOSED:
        # More work means the proposed resolution no longer stands.
        _set_status(case, CaseStatus.OPEN, actor, reason=f"new task: {title}")
        changed.append("status")
    _save(case, *changed)
    return task


@transaction.atomic
def complete_task(
    *, task: Task, note: str, actor: User | None, expected_version: int | None = None
) -> Task:
    """Finish a department's task. When it was the last open one, the case moves to
    `resolution_proposed` — never to a resolved status: only the customer resolves it."""
    note = _required(note, "note")
    case = _locked(task.case, expected_version)
    task = Task.objects.select_for_update(of=("self",)).select_related("department").get(pk=task.pk)
    task.case = case
    if not task.can_complete():
        if task.status != TaskStatus.OPEN:
            raise Conflict(f"this task is already {task.status}", status=task.status)
        raise _illegal(case, "complete a task of")
    task.status = TaskStatus.DONE
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.completion_note = note
    task.save(
        update_fields=["status", "completed_at", "completed_by", "completion_note", "updated_at"]
    )
    events.task_completed(task, actor)
    changed = []
    still_open = case.tasks.filter(status=TaskStatus.OPEN).exists()
    if not still_open and case.can_propose_resolution():
        summary = "All tasks complete: " + "; ".join(
            f"{t.department.name}: {t.title}"
            for t in case.tasks.filter(status=TaskStatus.DONE).select_related("department")
        )
        case.resolution_summary = summary
        _set_status(case, CaseStatus.RESOLUTION_PROPOSED, actor, reason=summary)
        changed += ["status", "resolution_summary"]
    _save(case, *changed)
    return task


@transaction.atomic
def add_note(
    *, case: Case, body: str, actor: User | None, expected_version: int | None = None
) -> Event:
    """An internal note, visible to every department, never to the customer."""
    body = _required(body, "body")
    case = _locked(case, expected_version)
    event = events.note_added(case, body, actor)
    _save(case)
    return event


@transaction.atomic
def hand_off(
    *, case: Case, to: User, context: str, actor: User | None, expected_version: int | None = None
) -> Handoff:
    """Move ownership to `to`, carrying the context they need before speaking to the customer."""
    context = _required(context, "context")
    case = _locked(case, expected_version)
    if not case.can_hand_off():
        if case.owner_id is None:
            raise Conflict("this case has no owner yet: assign one first")
        raise _illegal(case, "hand off")
    if case.owner_id == to.pk:
        raise Conflict(f"{to.username} already owns this case")
    handoff = Handoff.objects.create(case=case, from_user=case.owner, to_user=to, context=context)
    case.owner = to
    events.handed_off(handoff, actor)
    _save(case, "owner")
    return handoff


@transaction.atomic
def set_waiting(
    *,
    case: Case,
    on: str,
    actor: User | None,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Mark whose move it is: `customer` or `us` (or `none` to return to open)."""
    targets = {
        "customer": CaseStatus.WAITING_ON_CUSTOMER,
        "us": CaseStatus.WAITING_ON_US,
        "none": CaseStatus.OPEN,
    }
    if on not in targets:
        raise InvalidInput("on must be one of: customer, us, none")
    case = _locked(case, expected_version)
    if not case.can_wait():
        raise _illegal(case, "change who is waiting on")
    if case.status == targets[on]:
        return case
    _set_status(case, targets[on], actor, reason)
    _save(case, "status")
    transaction.on_commit(lambda: schedule_sla_check(case.pk))  # pauses move due times
    return case


@transaction.atomic
def propose_resolution(
    *, case: Case, summary: str, actor: User | None, expected_version: int | None = None
) -> Case:
    """We believe it is fixed; the customer decides. Refused while tasks are still open."""
    summary = _required(summary, "summary")
    case = _locked(case, expected_version)
    if not case.can_propose_resolution():
        raise _illegal(case, "propose a resolution for")
    open_tasks = list(case.tasks.filter(status=TaskStatus.OPEN).values_list("title", flat=True))
    if open_tasks:
        raise Conflict(
            f"{len(open_tasks)} task(s) still open: {', '.join(open_tasks)}",
            open_tasks=open_tasks,
        )
    case.resolution_summary = summary
    _set_status(case, CaseStatus.RESOLUTION_PROPOSED, actor, summary)
    _save(case, "status", "resolution_summary")
    return case


@transaction.atomic
def confirm_resolution(
    *,
    case: Case,
    via: str,
    actor: User | None,
    contact_event_id: uuid.UUID | None = None,
    expected_version: int | None = None,
) -> Case:
    """Record the customer's own confirmation: the only way to `resolved_confirmed`."""
    if via not in Channel.ALL:
        raise InvalidInput(f"via must be one of: {', '.join(Channel.ALL)}")
    case = _locked(case, expected_version)
    if not case.can_confirm():
        raise _illegal(case, "confirm")
    contact = None
    if contact_event_id is not None:
        contact = Event.objects.filter(pk=contact_event_id, customer_id=case.customer_id).first()
        if contact is None:
            raise NotFound(f"no event '{contact_event_id}' on this customer's timeline")
    confirmation = events.customer_confirmed(case, via, actor, contact)
    case.confirmation_event = confirmation
    case.resolved_at = timezone.now()
    _set_status(case, CaseStatus.RESOLVED_CONFIRMED, actor, "confirmed by the customer")
    _save(case, "status", "confirmation_event", "resolved_at")
    # A service survey about this case (at most one per customer and window), by the worker;
    # robust: a queue that is down never undoes the confirmation.
    case_id = str(case.pk)
    transaction.on_commit(lambda: survey_after_resolution.enqueue(case_id), robust=True)
    return case


@transaction.atomic
def reopen_case(
    *, case: Case, reason: str, actor: User | None, expected_version: int | None = None
) -> Case:
    """The problem is back (or was never fixed): reopen with the whole history kept."""
    reason = _required(reason, "reason")
    case = _locked(case, expected_version)
    if not case.can_reopen():
        raise _illegal(case, "reopen")
    case.reopen_count += 1
    case.resolved_at = None
    case.closed_reason = ""
    _set_status(case, CaseStatus.OPEN if case.owner_id else CaseStatus.NEW, actor, reason)
    _save(case, "status", "reopen_count", "resolved_at", "closed_reason")
    transaction.on_commit(lambda: schedule_sla_check(case.pk))  # service standards (ADR 10)
    return case


@transaction.atomic
def close_unconfirmed(
    *, case: Case, reason: str, actor: User | None, expected_version: int | None = None
) -> Case:
    """An honest, reasoned close without the customer's confirmation."""
    reason = _required(reason, "reason")
    case = _locked(case, expected_version)
    if not case.can_close_unconfirmed():
        raise _illegal(case, "close")
    case.closed_reason = reason
    _set_status(case, CaseStatus.CLOSED_UNCONFIRMED, actor, reason)
    _save(case, "status", "closed_reason")
    return case
