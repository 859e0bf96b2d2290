"""Thin endpoints: validate, check access, call one service, answer with the current case."""

from __future__ import annotations

from typing import Any

from ninja import Router, Status

from loxodon.cases import services
from loxodon.cases.schemas import (
    AssignIn,
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
from loxodon.core.schemas import ApiRequest
from loxodon.customers.selectors import get_customer_for
from loxodon.org.selectors import get_active_staff, get_department, get_site
from loxodon.timeline.schemas import EventOut, event_out

router = Router(tags=["cases"])


def _detail(request: ApiRequest, case_id: Any) -> dict[str, Any]:
    return case_out(get_case_for(request.auth, case_id), with_handoffs=True)


@router.post("/cases", response={201: CaseDetailOut})
def open_case(request: ApiRequest, data: CaseIn) -> Status[dict[str, Any]]:
    customer = get_customer_for(request.auth, data.customer_id)
    case = services.open_case(
        customer=customer,
        problem=data.problem,
        actor=request.auth,
        owner=get_active_staff(data.owner) if data.owner else None,
        priority=data.priority,
        site=get_site(data.site) if data.site else None,
    )
    return Status(201, _detail(request, case.pk))


@router.get("/cases/{case_id}", response=CaseDetailOut)
def get_case(request: ApiRequest, case_id: str) -> dict[str, Any]:
    return _detail(request, case_id)


@router.post("/cases/{case_id}/assign", response=CaseDetailOut)
def assign(request: ApiRequest, case_id: str, data: AssignIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.assign_owner(case=case, owner=get_active_staff(data.owner), actor=request.auth)
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
    )
    return Status(201, task_out(task))


@router.post("/tasks/{task_id}/complete", response=TaskOut)
def complete_task(request: ApiRequest, task_id: str, data: CompleteIn) -> dict[str, Any]:
    task = services.complete_task(
        task=get_task_for(request.auth, task_id), note=data.note, actor=request.auth
    )
    return task_out(task)


@router.post("/cases/{case_id}/notes", response={201: EventOut})
def add_note(request: ApiRequest, case_id: str, data: NoteIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    return Status(201, event_out(services.add_note(case=case, body=data.body, actor=request.auth)))


@router.post("/cases/{case_id}/handoffs", response={201: HandoffOut})
def hand_off(request: ApiRequest, case_id: str, data: HandoffIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    handoff = services.hand_off(
        case=case, to=get_active_staff(data.to), context=data.context, actor=request.auth
    )
    return Status(201, handoff_out(handoff))


@router.post("/cases/{case_id}/waiting", response=CaseDetailOut)
def waiting(request: ApiRequest, case_id: str, data: WaitingIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.set_waiting(case=case, on=data.on, reason=data.reason, actor=request.auth)
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/propose-resolution", response=CaseDetailOut)
def propose_resolution(request: ApiRequest, case_id: str, data: ProposeIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.propose_resolution(case=case, summary=data.summary, actor=request.auth)
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/confirm", response=CaseDetailOut)
def confirm(request: ApiRequest, case_id: str, data: ConfirmIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.confirm_resolution(
        case=case, via=data.via, contact_event_id=data.event_id, actor=request.auth
    )
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/reopen", response=CaseDetailOut)
def reopen(request: ApiRequest, case_id: str, data: ReasonIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.reopen_case(case=case, reason=data.reason, actor=request.auth)
    return _detail(request, case.pk)


@router.post("/cases/{case_id}/close-unconfirmed", response=CaseDetailOut)
def close_unconfirmed(request: ApiRequest, case_id: str, data: ReasonIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    services.close_unconfirmed(case=case, reason=data.reason, actor=request.auth)
    return _detail(request, case.pk)
