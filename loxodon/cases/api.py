"""Thin endpoints: validate, check access, call one service, answer with the current case.

Optimistic concurrency: every change to a case may carry the `version` the client read (in the
body, or as `If-Match: "<version>"`; `GET /cases/{id}` sends it as the `ETag`). When the case
has changed since, nothing is saved and the answer is 409 with `current_version` and the
current `case`, so the client can show what changed and decide again. Without a version the
change applies to the current case (backwards compatible; the row lock still serialises
writers).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from ninja import Router, Status

from loxodon.cases import services
from loxodon.cases.schemas import (
    AssignIn,
    CaseBatchIn,
    CaseChangeIn,
    CaseDetailOut,
    CaseIn,
    CompleteIn,
    ConfirmIn,
    HandoffIn,
    HandoffOut,
    NoteIn,
    ProposeIn,
    ReasonIn,
    TaskIn,
    TaskOut,
    WaitingIn,
    case_out,
    handoff_out,
    task_out,
)
from loxodon.cases.selectors import get_case_for, get_task_for
from loxodon.core.errors import InvalidInput
from loxodon.core.schemas import ApiRequest
from loxodon.customers.selectors import customer_ref_for, customer_refs_for
from loxodon.org.selectors import (
    active_staff_by_username,
    get_active_staff,
    get_department,
    get_site,
    sites_by_code,
)
from loxodon.timeline.schemas import BatchOut, EventOut, batch_out, event_out

router = Router(tags=["cases"])


def _detail(request: ApiRequest, case_id: Any) -> dict[str, Any]:
    return case_out(get_case_for(request.auth, case_id), with_handoffs=True)


def _expected(request: ApiRequest, data: CaseChangeIn) -> int | None:
    """The version the client read: `version` in the body or `If-Match: "<n>"` (or none)."""
    header = (request.headers.get("If-Match") or "").strip()
    from_header = None
    if header and header != "*":
        tag = header.removeprefix("W/").strip('"')
        if not tag.isdigit() or int(tag) < 1:
            raise InvalidInput(
                'If-Match must be the case version you read, e.g. If-Match: "3" '
                "(the ETag of GET /cases/{id})"
            )
        from_header = int(tag)
    if from_header is not None and data.version is not None and from_header != data.version:
        raise InvalidInput(
            f"version {data.version} in the body and If-Match {from_header} disagree: send one"
        )
    return data.version if data.version is not None else from_header


@router.post("/cases", response={200: CaseDetailOut, 201: CaseDetailOut})
def open_case(request: ApiRequest, data: CaseIn) -> Status[dict[str, Any]]:
    """Open a case. With `source` and `external_id`, a repeat delivery returns the case opened
    the first time (200) and opens nothing."""
    customer = customer_ref_for(request.auth, data.customer_id)
    draft = services.CaseDraft(
        customer=customer,
        problem=data.problem,
        owner=get_active_staff(data.owner) if data.owner else None,
        priority=data.priority,
        site=get_site(data.site) if data.site else None,
        source=data.source,
        external_id=data.external_id,
    )
    (opened,) = services.open_cases([draft], actor=request.auth)
    if not opened.created:
        return Status(200, _detail(request, opened.case.pk))
    # Answered from the case just written (a new case has no tasks or handoffs): re-reading it
    # with its joins cost more than opening it (bench/peers, docs/performance.md).
    return Status(201, case_out(opened.case, tasks=[]) | {"handoffs": []})


@router.post("/cases/batch", response={200: BatchOut, 201: BatchOut})
def open_cases(request: ApiRequest, batch: CaseBatchIn) -> Status[dict[str, Any]]:
    """Open up to 1000 cases in one transaction: all of them, or none (a bad one is named by
    its index). Repeats of `(source, external_id)` return the stored case (`created: false`)."""
    customers = customer_refs_for(request.auth, [c.customer_id for c in batch.cases])
    owners = active_staff_by_username({c.owner for c in batch.cases if c.owner})
    sites = sites_by_code({c.site for c in batch.cases if c.site})
    drafts = [
        services.CaseDraft(
            customer=customers[c.customer_id],
            problem=c.problem,
            owner=owners[c.owner] if c.owner else None,
            priority=c.priority,
            site=sites[c.site] if c.site else None,
            source=c.source,
            external_id=c.external_id,
        )
        for c in batch.cases
    ]
    results = services.open_cases(drafts, actor=request.auth)
    return Status(*batch_out([(r.case, r.created) for r in results]))


@router.get("/cases/{case_id}", response=CaseDetailOut)
def get_case(request: ApiRequest, case_id: str, response: HttpResponse) -> dict[str, Any]:
    """The case with its tasks and handoffs; the `ETag` is its version (send it back as
    `If-Match` or as `version` with a change)."""
    detail = _detail(request, case_id)
    response["ETag"] = f'"{detail["version"]}"'
    return detail


@router.post("/cases/{case_id}/assign", response=CaseDetailOut)
def assign(request: ApiRequest, case_id: str, data: AssignIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.assign_owner(
        case=case,
        owner=get_active_staff(data.owner),
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/tasks", response={201: TaskOut})
def add_task(request: ApiRequest, case_id: str, data: TaskIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    task = services.add_task(
        case=case,
        department=get_department(data.department),
        title=data.title,
        assignee=get_active_staff(data.assignee) if data.assignee else None,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return Status(201, task_out(task))


@router.post("/tasks/{task_id}/complete", response=TaskOut)
def complete_task(request: ApiRequest, task_id: str, data: CompleteIn) -> dict[str, Any]:
    task = services.complete_task(
        task=get_task_for(request.auth, task_id),
        note=data.note,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return task_out(task)


@router.post("/cases/{case_id}/notes", response={201: EventOut})
def add_note(request: ApiRequest, case_id: str, data: NoteIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    note = services.add_note(
        case=case, body=data.body, actor=request.auth, expected_version=_expected(request, data)
    )
    return Status(201, event_out(note))


@router.post("/cases/{case_id}/handoffs", response={201: HandoffOut})
def hand_off(request: ApiRequest, case_id: str, data: HandoffIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    handoff = services.hand_off(
        case=case,
        to=get_active_staff(data.to),
        context=data.context,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return Status(201, handoff_out(handoff))


@router.post("/cases/{case_id}/waiting", response=CaseDetailOut)
def waiting(request: ApiRequest, case_id: str, data: WaitingIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.set_waiting(
        case=case,
        on=data.on,
        reason=data.reason,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/propose-resolution", response=CaseDetailOut)
def propose_resolution(request: ApiRequest, case_id: str, data: ProposeIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.propose_resolution(
        case=case,
        summary=data.summary,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/confirm", response=CaseDetailOut)
def confirm(request: ApiRequest, case_id: str, data: ConfirmIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.confirm_resolution(
        case=case,
        via=data.via,
        contact_event_id=data.event_id,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/reopen", response=CaseDetailOut)
def reopen(request: ApiRequest, case_id: str, data: ReasonIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.reopen_case(
        case=case,
        reason=data.reason,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/close-unconfirmed", response=CaseDetailOut)
def close_unconfirmed(request: ApiRequest, case_id: str, data: ReasonIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.close_unconfirmed(
        case=case,
        reason=data.reason,
        actor=request.auth,
        expected_version=_expected(request, data),
    )
    return _detail(request, case.pk)
