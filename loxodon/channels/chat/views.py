"""The desk's chat pages (`/desk/chats/`): thin views over the chat selectors and services.

Every action also works as a plain form post (POST → redirect → GET with a message); on the
chat page `chat-desk.js` sends replies over the agent socket instead and shows new lines live.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from loxodon.cases.selectors import get_case_for
from loxodon.channels.chat import selectors, services
from loxodon.channels.chat.models import MAX_MESSAGE_CHARS, Chat
from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty
from loxodon.core.access import require_staff
from loxodon.core.errors import DomainError, InvalidInput, NotFound
from loxodon.desk.views import DeskRequest, desk_view


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=MAX_MESSAGE_CHARS, strip=True)
    client_id = forms.CharField(max_length=64, required=False)


class OpenCaseForm(forms.Form):
    problem = forms.CharField(max_length=20_000, strip=True, required=False)


class JoinCaseForm(forms.Form):
    case_id = forms.UUIDField()


@desk_view
def chat_list(request: DeskRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in selectors.DESK_STATUSES:
        status = "open"
    counts = selectors.chat_counts(request.user)
    context = {
        "status": status,
        "chats": selectors.chats_for_desk(request.user, status),
        "tabs": [(key, label, counts.get(key)) for key, label in selectors.DESK_STATUSES.items()],
    }
    template = "chat/_chat_list.html" if request.htmx else "chat/chat_list.html"
    return render(request, template, context)


@desk_view
def chat_page(request: DeskRequest, chat_id: str) -> HttpResponse:
    chat = selectors.get_chat_for(request.user, chat_id)
    lines = selectors.messages_of(request.user, chat)
    context = {
        "chat": chat,
        "customer": chat.customer,
        "lines": lines,
        "last_seq": lines[-1].seq if lines else 0,
        "cases": selectors.joinable_cases(request.user, chat) if chat.can_attach_case() else [],
        "client_id": uuid.uuid4().hex,
        "max_chars": MAX_MESSAGE_CHARS,
    }
    return render(request, "chat/chat.html", context)


def _act(request: DeskRequest, chat_id: str, action: Callable[[Chat], str | None]) -> HttpResponse:
    """Run one service call for a POSTed action; a refusal is shown as "Not done: …"."""
    chat = selectors.get_chat_for(request.user, chat_id)
    try:
        done = action(chat)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        messages.error(request, f"Not done: {exc.detail}")
        return redirect("chats:chat", chat_id=chat.pk)
    if done:
        messages.success(request, done)
    return redirect("chats:chat", chat_id=chat.pk)


@desk_view
@require_POST
def chat_reply(request: DeskRequest, chat_id: str) -> HttpResponse:
    form = ReplyForm(request.POST)

    def reply(chat: Chat) -> None:
        if not form.is_valid():
            raise InvalidInput(f"write a reply of 1-{MAX_MESSAGE_CHARS} characters")
        services.post_agent_message(
            chat=chat,
            agent=request.user,
            body=form.cleaned_data["body"],
            client_id=form.cleaned_data["client_id"],
        )

    return _act(request, chat_id, reply)


@desk_view
@require_POST
def chat_take(request: DeskRequest, chat_id: str) -> HttpResponse:
    def take(chat: Chat) -> str:
        services.take_chat(chat=chat, agent=request.user)
        return "You have taken this chat: the visitor sees that you joined."

    return _act(request, chat_id, take)


@desk_view
@require_POST
def chat_end(request: DeskRequest, chat_id: str) -> HttpResponse:
    def end(chat: Chat) -> str:
        services.end_chat(chat=chat, agent=request.user)
        return "Chat ended. The transcript is on the customer's timeline."

    return _act(request, chat_id, end)


@desk_view
@require_POST
def chat_open_case(request: DeskRequest, chat_id: str) -> HttpResponse:
    form = OpenCaseForm(request.POST)
    problem = form.cleaned_data["problem"] if form.is_valid() else ""

    def open_case(chat: Chat) -> str:
        case = services.open_case_for_chat(chat=chat, agent=request.user, problem=problem)
        return f"Case opened and the chat put on it: {case.title}"

    return _act(request, chat_id, open_case)


@desk_view
@require_POST
def chat_join_case(request: DeskRequest, chat_id: str) -> HttpResponse:
    form = JoinCaseForm(request.POST)

    def join(chat: Chat) -> str:
        if not form.is_valid():
            raise InvalidInput("choose one of the customer's open cases")
        case = get_case_for(request.user, form.cleaned_data["case_id"])
        services.join_case(chat=chat, agent=request.user, case=case)
        return f"The chat is now on the case: {case.title}"

    return _act(request, chat_id, join)


@desk_view
def demo(request: DeskRequest) -> HttpResponse:
    """An example company page with the widget embedded, to try both sides in two windows.

    `?property=<id>` picks the web property; `?as=<email>` makes this page act as the company's
    server and embed an identity token for that email (signed with the property's secret).
    """
    require_staff(request.user)
    properties = list(WebProperty.objects.filter(active=True).order_by("name"))
    chosen = next((p for p in properties if str(p.pk) == request.GET.get("property")), None)
    if chosen is None and properties:
        chosen = properties[0]
    signed_in_as = request.GET.get("as", "").strip()[:254]
    token = ""
    if chosen is not None and signed_in_as:
        token = sign_identity(
            chosen.identity_secret,
            {"email": signed_in_as, "name": signed_in_as, "exp": int(time.time()) + 3600},
        )
    origin = f"{request.scheme}://{request.get_host()}"
    context: dict[str, Any] = {
        "properties": properties,
        "chosen": chosen,
        "signed_in_as": signed_in_as,
        "token": token,
        "origin_refused": chosen is not None and not chosen.origin_allowed(origin),
        "origin": origin,
        "desk_chats": reverse("chats:list"),
    }
    return render(request, "chat/demo.html", context)
