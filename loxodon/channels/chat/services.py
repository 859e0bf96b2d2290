"""Every change to a chat: one function per verb.

Each owns its transaction, locks the chat row (consistent lock order: web property (only when a
chat is created) → chat → event → case), writes the transcript line, brings the chat's living
timeline event up to date and notifies the visitor and the desk after commit.

Who the visitor is:

- With a valid identity token from the company's site (`channels.web.identity`), the visitor
  is the customer the token names, and only ever sees chats started as that customer.
- Without one (or with a refused one) they are anonymous. At their first message they get
  their own *unverified* customer, "Web visitor XXXX", with an unverified `chat_visitor`
  identity `<property public key>:<sha256(visitor id)[:32]>`; later chats from the same
  browser reuse it, and identity resolution may later merge it into a known customer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.cases.models import OPEN_STATUSES, Case
from loxodon.channels.chat import events, live
from loxodon.channels.chat.models import (
    MAX_MESSAGE_CHARS,
    Chat,
    ChatMessage,
    ChatStatus,
    Sender,
)
from loxodon.channels.chat.selectors import Visitor, clean_visitor_id, open_chat_of
from loxodon.channels.web.identity import customer_for_visitor, verify_identity
from loxodon.channels.web.models import WebProperty
from loxodon.core.errors import Conflict, InvalidInput
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.services import create_customers_for_contacts
from loxodon.org.models import User

MAX_MESSAGES_PER_CHAT = 500
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ABOUT_CHARS = 120
REFUSED_IDENTITY = "We could not confirm who you are, so you are chatting as a guest."


@dataclass(frozen=True)
class Posted:
    chat: Chat
    message: ChatMessage
    created: bool


@dataclass(frozen=True)
class Hello:
    visitor: Visitor
    refusal: str | None  # why an identity token was refused (the visitor stays anonymous)


def _clean_body(body: object) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("a message needs some text")
    body = body.strip()
    if len(body) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"a message is at most {MAX_MESSAGE_CHARS} characters")
    return body


def _clean_client_id(value: object, *, required: bool) -> str:
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not CLIENT_ID.match(value):
        raise InvalidInput("client_id must be 1-64 letters, digits or '_.:-'")
    return value


def _same_message(replay: ChatMessage, text: str, cid: str, sender: str | None = None) -> None:
    """A re-sent message must say what the stored one says (an idempotency key reused for
    other content is refused, never silently dropped)."""
    if replay.body != text or (sender is not None and replay.sender != sender):
        raise Conflict(f"client_id '{cid}' was already used for a different message")


def _locked(chat: Chat) -> Chat:
    return (
        Chat.objects.select_for_update(of=("self",))
        .select_related("web_property", "agent")
        .get(pk=chat.pk)
    )


def _append(
    chat: Chat, sender: str, body: str, *, agent: User | None = None, client_id: str = ""
) -> ChatMessage:
    """A transcript line at the end of a locked chat (updates its counters, not saved yet)."""
    chat.last_seq += 1
    message = ChatMessage.objects.create(
        chat=chat, seq=chat.last_seq, sender=sender, agent=agent, body=body, client_id=client_id
    )
    if sender != Sender.SYSTEM:
        chat.message_count += 1
        chat.last_message_at = message.created_at
    return message


def _save_and_render(chat: Chat, *fields: str) -> None:
    chat.save(update_fields=["last_seq", "message_count", "last_message_at", *fields, "updated_at"])
    messages = list(chat.messages.select_related("agent").order_by("seq"))
    events.chat_changed(chat, messages)


# --- the visitor's side --------------------------------------------------------------------


def greet_visitor(web_property: WebProperty, visitor_id: object, token: object) -> Hello:
    """Who a widget connection speaks for. A token is checked with `verify_identity`; a refused
    token is not an error: the visitor continues anonymously and `refusal` says why."""
    vid = clean_visitor_id(visitor_id)
    if token in (None, ""):
        return Hello(Visitor(web_property, vid), None)
    if not isinstance(token, str):
        return Hello(Visitor(web_property, vid), REFUSED_IDENTITY)
    try:
        who = verify_identity(web_property, token)
        with transaction.atomic():
            customer = customer_for_visitor(web_property, who)
    except (InvalidInput, Conflict, IntegrityError):
        return Hello(Visitor(web_property, vid), REFUSED_IDENTITY)
    if customer is None:  # the token's identifiers name different customers: no guessing
        return Hello(Visitor(web_property, vid), REFUSED_IDENTITY)
    return Hello(Visitor(web_property, vid, customer), None)


def visitor_identity_value(visitor: Visitor) -> str:
    """The `chat_visitor` identity of an anonymous visitor: the property's key and a digest of
    the visitor id (the id itself is the browser's only credential for its chats, so it is not
    shown on the desk or in the API)."""
    digest = hashlib.sha256(visitor.visitor_id.encode()).hexdigest()[:32]
    return f"{visitor.web_property.public_key}:{digest}"


def _anonymous_customer(visitor: Visitor) -> Customer:
    value = visitor_identity_value(visitor)
    known = (
        Identity.objects.filter(kind=IdentityKind.CHAT_VISITOR, value=value)
        .order_by("created_at")
        .values_list("customer_id", flat=True)
        .first()
    )
    if known is not None:
        return Customer.objects.get(pk=known)
    tag = hashlib.sha256(value.encode()).hexdigest()[:4].upper()
    (customer,) = create_customers_for_contacts(
        [(f"Web visitor {tag}", [(IdentityKind.CHAT_VISITOR, value)])],
        source="chat",
        site=visitor.web_property.site,
    )
    return customer


def post_visitor_message(visitor: Visitor, *, body: object, client_id: object) -> Posted:
    """The visitor writes. The first message of a conversation starts the chat (and its
    timeline event); a message re-sent with the same `client_id` returns the stored one and
    changes nothing."""
    text = _clean_body(body)
    cid = _clean_client_id(client_id, required=True)
    # Two tries: two tabs of one visitor may start a chat at the same moment; the loser's
    # insert fails on `chat_one_open_per_visitor` and the second pass joins the winner's chat.
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _post_visitor_message(visitor, text, cid)
        except IntegrityError:
            if attempt == 2:
                raise Conflict("the message could not be stored; please send it again") from None
    raise AssertionError("unreachable")


def _post_visitor_message(visitor: Visitor, text: str, cid: str) -> Posted:
    replay = (
        ChatMessage.objects.filter(chat__in=visitor.chats(), sender=Sender.VISITOR, client_id=cid)
        .select_related("chat", "agent")
        .first()
    )
    if replay is not None:
        _same_message(replay, text, cid)
        return Posted(replay.chat, replay, created=False)
    chat = open_chat_of(visitor)
    if chat is None:
        return _start_chat(visitor, text, cid)
    chat = _locked(chat)
    if not chat.is_open:  # ended between our read and the lock: start afresh
        return _start_chat(visitor, text, cid)
    if chat.last_seq >= MAX_MESSAGES_PER_CHAT:
        raise InvalidInput(
            f"this chat has reached {MAX_MESSAGES_PER_CHAT} messages: end it and start a new one"
        )
    message = _append(chat, Sender.VISITOR, text, client_id=cid)
    _save_and_render(chat)
    live.publish_on_commit(chat, message)
    return Posted(chat, message, created=True)


def _start_chat(visitor: Visitor, text: str, cid: str) -> Posted:
    # Serialise chat creation per property, so that one anonymous visitor starting two chats
    # at once cannot get two "Web visitor" customers.
    prop = visitor.web_property
    list(WebProperty.objects.select_for_update().filter(pk=prop.pk).values_list("pk", flat=True))
    customer = visitor.customer or _anonymous_customer(visitor)
    now = timezone.now()
    about = " ".join(text.split())
    chat = Chat.objects.create(
        web_property=prop,
        visitor_id=visitor.visitor_id,
        visitor_verified=visitor.customer is not None,
        customer=customer,
        about=about[:ABOUT_CHARS] + ("…" if len(about) > ABOUT_CHARS else ""),
        started_at=now,
        last_message_at=now,
    )
    message = _append(chat, Sender.VISITOR, text, client_id=cid)
    chat.event = events.chat_started(chat, [message])
    chat.save(update_fields=["last_seq", "message_count", "last_message_at", "event", "updated_at"])
    live.publish_on_commit(chat, message)
    return Posted(chat, message, created=True)


@transaction.atomic
def end_visitor_chat(visitor: Visitor) -> Chat | None:
    """The visitor closes their open chat (None when they have none)."""
    chat = open_chat_of(visitor)
    if chat is None:
        return None
    return _end(_locked(chat), agent=None)


# --- the desk's side -----------------------------------------------------------------------


def _join_line(chat: Chat, agent: User) -> ChatMessage:
    return _append(chat, Sender.SYSTEM, f"{agent.first_name or agent.username} joined the chat")


@transaction.atomic
def take_chat(*, chat: Chat, agent: User) -> Chat:
    """An agent takes a waiting chat: it becomes active and theirs."""
    chat = _locked(chat)
    if not chat.can_take():
        if chat.status == ChatStatus.ACTIVE and chat.agent is not None:
            raise Conflict(f"{chat.agent.display_name} has already taken this chat")
        raise Conflict("this chat has ended")
    chat.status = ChatStatus.ACTIVE
    chat.agent = agent
    line = _join_line(chat, agent)
    _save_and_render(chat, "status", "agent")
    live.publish_on_commit(chat, line)
    return chat


def post_agent_message(*, chat: Chat, agent: User, body: object, client_id: object = "") -> Posted:
    """An agent answers (desk page, desk socket and API alike). Answering a waiting chat takes
    it. A repeated `client_id` returns the stored message and changes nothing."""
    text = _clean_body(body)
    cid = _clean_client_id(client_id, required=False)
    with transaction.atomic():
        chat = _locked(chat)
        if cid:
            replay = chat.messages.filter(client_id=cid).select_related("agent").first()
            if replay is not None:
                _same_message(replay, text, cid, sender=Sender.AGENT)
                return Posted(chat, replay, created=False)
        if not chat.can_reply():
            raise Conflict("this chat has ended: the visitor is no longer there")
        if chat.last_seq >= MAX_MESSAGES_PER_CHAT:
            raise InvalidInput(f"this chat has reached {MAX_MESSAGES_PER_CHAT} messages")
        changed: list[str] = []
        if chat.status == ChatStatus.WAITING:
            chat.status = ChatStatus.ACTIVE
            chat.agent = agent
            live.publish_on_commit(chat, _join_line(chat, agent))
            changed = ["status", "agent"]
        message = _append(chat, Sender.AGENT, text, agent=agent, client_id=cid)
        _save_and_render(chat, *changed)
        live.publish_on_commit(chat, message)
        return Posted(chat, message, created=True)


def _end(chat: Chat, *, agent: User | None) -> Chat:
    if not chat.can_end():
        raise Conflict("this chat has already ended")
    chat.status = ChatStatus.ENDED
    chat.ended_at = timezone.now()
    who = (agent.first_name or agent.username) if agent is not None else "the visitor"
    line = _append(chat, Sender.SYSTEM, f"Chat ended by {who}")
    _save_and_render(chat, "status", "ended_at")
    live.publish_on_commit(chat, line)
    return chat


@transaction.atomic
def end_chat(*, chat: Chat, agent: User) -> Chat:
    """An agent ends the chat (the visitor sees that it has ended)."""
    return _end(_locked(chat), agent=agent)


def _attach(chat: Chat, case: Case) -> None:
    chat.case = case
    chat.save(update_fields=["case", "updated_at"])
    messages = list(chat.messages.select_related("agent").order_by("seq"))
    events.chat_changed(chat, messages)  # attaches the living event to the case
    live.publish_on_commit(chat)


@transaction.atomic
def open_case_for_chat(*, chat: Chat, agent: User, problem: str | None = None) -> Case:
    """Open a case for the chat's customer (the problem defaults to what the visitor wrote
    first), owned by the agent, and put the chat on it."""
    chat = _locked(chat)
    if not chat.can_attach_case():
        raise Conflict("this chat is already on a case", case_id=str(chat.case_id))
    text = (problem or "").strip()
    if not text:
        first = chat.messages.filter(sender=Sender.VISITOR).order_by("seq").first()
        text = first.body if first is not None else chat.about
    case = case_services.open_case(customer=chat.customer, problem=text, actor=agent, owner=agent)
    _attach(chat, case)
    return case


@transaction.atomic
def join_case(*, chat: Chat, agent: User, case: Case) -> Case:
    """Put the chat on one of its customer's open cases."""
    chat = _locked(chat)
    if not chat.can_attach_case():
        if chat.case_id == case.pk:
            return case
        raise Conflict("this chat is already on a case", case_id=str(chat.case_id))
    if case.customer_id != chat.customer_id:
        raise InvalidInput("that case belongs to another customer")
    if case.status not in OPEN_STATUSES:
        raise Conflict(f"that case is {case.get_status_display().lower()}: reopen it first")
    _attach(chat, case)
    return case
