"""Thin endpoints for messages to the customer: validate, check access, call one service."""

from __future__ import annotations

from typing import Any

from ninja import Router, Status

from loxodon.cases.selectors import get_case_for
from loxodon.core.schemas import ApiRequest
from loxodon.outbound import services
from loxodon.outbound.schemas import AnswerIn, MessageIn, MessageOut, QuestionIn, message_out
from loxodon.outbound.selectors import get_message_for, messages_of_case

router = Router(tags=["messages"])


def _out(request: ApiRequest, message_id: Any) -> dict[str, Any]:
    return message_out(get_message_for(request.auth, message_id))


@router.post("/cases/{case_id}/messages", response={201: MessageOut})
def queue_message(request: ApiRequest, case_id: str, data: MessageIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    message = services.queue_message(case=case, author=request.auth, body=data.body, kind=data.kind)
    return Status(201, _out(request, message.pk))


@router.get("/cases/{case_id}/messages", response=list[MessageOut])
def list_messages(request: ApiRequest, case_id: str) -> list[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    return [message_out(m) for m in messages_of_case(request.auth, case)]


@router.post("/cases/{case_id}/questions", response={201: MessageOut})
def ask_customer(request: ApiRequest, case_id: str, data: QuestionIn) -> Status[dict[str, Any]]:
    case = get_case_for(request.auth, case_id)
    message = services.ask_customer(case=case, author=request.auth, question=data.question)
    return Status(201, _out(request, message.pk))


@router.post("/cases/{case_id}/questions/answered", response=MessageOut)
def answer_question(request: ApiRequest, case_id: str, data: AnswerIn) -> dict[str, Any]:
    case = get_case_for(request.auth, case_id)
    message = services.answer_question(case=case, actor=request.auth, event_id=data.event_id)
    return _out(request, message.pk)


@router.get("/messages/{message_id}", response=MessageOut)
def get_message(request: ApiRequest, message_id: str) -> dict[str, Any]:
    return _out(request, message_id)


@router.post("/messages/{message_id}/cancel", response=MessageOut)
def cancel_message(request: ApiRequest, message_id: str) -> dict[str, Any]:
    message = get_message_for(request.auth, message_id)
    services.cancel_message(message=message, actor=request.auth)
    return _out(request, message.pk)


@router.post("/messages/{message_id}/retry", response=MessageOut)
def retry_message(request: ApiRequest, message_id: str) -> dict[str, Any]:
    message = get_message_for(request.auth, message_id)
    services.retry_message(message=message, actor=request.auth)
    return _out(request, message.pk)
