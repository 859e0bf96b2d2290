"""Chats for systems and scripts (`/api/v1/channels/chat/`): staff only, the same services as
the desk. Thin: validate, check access, call one service, answer with the current chat."""

from __future__ import annotations

from typing import Any

from ninja import Router, Status

from loxodon.cases.selectors import get_case_for
from loxodon.channels.chat import services
from loxodon.channels.chat.schemas import (
    ChatCaseIn,
    ChatDetailOut,
    ChatMessageIn,
    ChatOut,
    MessageOut,
    chat_out,
    message_out,
)
from loxodon.channels.chat.selectors import chats_for_desk, get_chat_for, messages_of
from loxodon.core.errors import InvalidInput
from loxodon.core.schemas import ApiRequest, ErrorOut

router = Router(tags=["chat"])


def _detail(request: ApiRequest, chat_id: Any) -> dict[str, Any]:
    chat = get_chat_for(request.auth, chat_id)
    return chat_out(chat, messages_of(request.auth, chat))


@router.get("/chats", response=list[ChatOut])
def list_chats(request: ApiRequest, status: str = "open") -> list[dict[str, Any]]:
    """Chats by status: `open` (waiting and active; default), `waiting`, `active`, `ended`
    (the latest 100)."""
    return [chat_out(c) for c in chats_for_desk(request.auth, status)]


@router.get("/chats/{chat_id}", response=ChatDetailOut)
def get_chat(request: ApiRequest, chat_id: str) -> dict[str, Any]:
    return _detail(request, chat_id)


@router.post(
    "/chats/{chat_id}/messages", response={200: MessageOut, 201: MessageOut, 409: ErrorOut}
)
def reply(request: ApiRequest, chat_id: str, data: ChatMessageIn) -> Status[dict[str, Any]]:
    """An agent's reply (takes a waiting chat). 201 new; 200 when `client_id` repeats."""
    chat = get_chat_for(request.auth, chat_id)
    posted = services.post_agent_message(
        chat=chat, agent=request.auth, body=data.body, client_id=data.client_id or ""
    )
    return Status(201 if posted.created else 200, message_out(posted.message))


@router.post("/chats/{chat_id}/take", response=ChatDetailOut)
def take(request: ApiRequest, chat_id: str) -> dict[str, Any]:
    services.take_chat(chat=get_chat_for(request.auth, chat_id), agent=request.auth)
    return _detail(request, chat_id)


@router.post("/chats/{chat_id}/end", response=ChatDetailOut)
def end(request: ApiRequest, chat_id: str) -> dict[str, Any]:
    services.end_chat(chat=get_chat_for(request.auth, chat_id), agent=request.auth)
    return _detail(request, chat_id)


@router.post("/chats/{chat_id}/case", response=ChatDetailOut)
def case(request: ApiRequest, chat_id: str, data: ChatCaseIn) -> dict[str, Any]:
    """Join one of the customer's open cases (`case_id`) or open a new one (`problem`, by
    default the visitor's first message); the chat's timeline event goes onto the case."""
    chat = get_chat_for(request.auth, chat_id)
    if data.case_id is not None:
        if data.problem:
            raise InvalidInput("give case_id (join) or problem (open a new case), not both")
        services.join_case(
            chat=chat, agent=request.auth, case=get_case_for(request.auth, data.case_id)
        )
    else:
        services.open_case_for_chat(chat=chat, agent=request.auth, problem=data.problem)
    return _detail(request, chat_id)
