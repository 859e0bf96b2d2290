"""Every read of the customer's own picture for the portal.

Each function starts from a queryset scoped to the signed-in customer (or, for cases, to
`access.cases_visible_to(login)`: the account's cases for account admins) and single objects come
through `access.own_or_404`, so someone else's id is the same logged 404 as a missing one.

What the customer sees of an event is decided in one place, `present()`: internal kinds and
internal events never leave `visible_events()`, and the presenter writes a customer-facing line
per kind from allow-listed fields only (never a task's completion note, a handoff's context or a
payload field meant for staff).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from loxodon.cases.models import FINISHED, OPEN_STATUSES, Case, CaseStatus, Task, TaskStatus
from loxodon.channels.chat.models import Chat, ChatMessage
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput
from loxodon.core.event_types import INTERNAL_KINDS, KINDS, Channel
from loxodon.customers.models import Customer
from loxodon.portal import access
from loxodon.portal.models import Attachment, Label, Nickname, Pin, PortalLogin
from loxodon.timeline.models import Asset, Event

PAGE_SIZE = 25
TRANSACTION_KINDS = ("order", "return", "shipment", "invoice")
CONVERSATION_KINDS = ("message", "call", "chat", "visit")
# Kinds whose body is the customer's own words or words sent to them (shown, searchable).
BODY_KINDS = frozenset({"message", "chat", "case_opened", "visit"})
# Kinds the customer may filter by: everything not internal.
CUSTOMER_KINDS = sorted(k for k in KINDS if k not in INTERNAL_KINDS)

CHANNEL_LABELS = {
    Channel.PHONE: "Phone",
    Channel.IVR: "Phone menu",
    Channel.EMAIL: "Email",
    Channel.CHAT: "Chat",
    Channel.SMS: "Text message",
    Channel.WEB: "Web",
    Channel.IN_PERSON: "In person",
    Channel.LETTER: "Letter",
    Channel.SYSTEM: "Update",
}
CHANNEL_ICONS = {
    Channel.PHONE: "telephone",
    Channel.IVR: "telephone",
    Channel.EMAIL: "envelope",
    Channel.CHAT: "chat-dots",
    Channel.SMS: "phone",
    Channel.WEB: "globe",
    Channel.IN_PERSON: "shop",
    Channel.LETTER: "mailbox",
    Channel.SYSTEM: "info-circle",
}


def day(value: datetime | date | None) -> str:
    """'3 March 2026' in the site's time zone (the customer's plain date)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return date_format(value, "j F Y")


# --- scopes -------------------------------------------------------------------------------------


def visible_events(customer: Customer) -> QuerySet[Event]:
    """The customer's own timeline without anything staff-only."""
    return Event.objects.filter(customer=customer, internal=False).exclude(kind__in=INTERNAL_KINDS)


def visible_cases(login: PortalLogin) -> QuerySet[Case]:
    return access.cases_visible_to(login)


def get_case(login: PortalLogin, case_id: object) -> Case:
    return access.own_or_404(
        visible_cases(login).select_related("customer"), login.customer, case_id, "case"
    )


def get_event(customer: Customer, event_id: object) -> Event:
    return access.own_or_404(visible_events(customer), customer, event_id, "event")


def get_asset(customer: Customer, asset_id: object) -> Asset:
    return access.own_or_404(Asset.objects.filter(customer=customer), customer, asset_id, "asset")


def get_attachment(login: PortalLogin, attachment_id: object) -> Attachment:
    """An attachment on a case this login may see (their own files and, for an account
    admin, the files on the account's cases)."""
    scoped = Attachment.objects.filter(case__in=visible_cases(login))
    return access.own_or_404(scoped, login.customer, attachment_id, "attachment")


# --- the presenter --------------------------------------------------------------------------


@dataclass
class Item:
    """One timeline event as the customer sees it."""

    id: uuid.UUID
    at: datetime
    channel: str
    channel_label: str
    icon: str
    kind: str
    title: str
    detail: str = ""
    case_id: uuid.UUID | None = None
    from_me: bool = False
    labels: list[str] = field(default_factory=list)


def _payload(event: Event) -> dict[str, Any]:
    return event.payload if isinstance(event.payload, dict) else {}


def _status_words(new: str) -> str:
    words: dict[str, str] = {
        CaseStatus.NEW: "We received your request",
        CaseStatus.OPEN: "We're working on it",
        CaseStatus.WAITING_ON_CUSTOMER: "We asked you something",
        CaseStatus.WAITING_ON_US: "We're working on it",
        CaseStatus.RESOLUTION_PROPOSED: "We think it's fixed — please confirm",
        CaseStatus.RESOLVED_CONFIRMED: "Resolved — you confirmed it",
        CaseStatus.CLOSED_UNCONFIRMED: "Closed",
    }
    return words.get(new, "Your case was updated")


def _message(event: Event) -> tuple[str, str, bool]:
    p = _payload(event)
    outbound = p.get("direction") in ("outbound", "out")
    subject = p.get("subject") if isinstance(p.get("subject"), str) else ""
    by = p.get("written_by")
    author = by.get("name") if isinstance(by, dict) and isinstance(by.get("name"), str) else ""
    who = "us" if outbound else (author or "you")
    title = f"Message from {who}" + (f": {subject}" if subject else "")
    return title, event.body, not outbound


def _status_change(event: Event) -> tuple[str, str, bool]:
    p = _payload(event)
    if "owner" in p:  # an owner assignment: the customer sees that someone has it
        return "Someone is looking after your case", "", False
    new = str(p.get("to") or "")
    detail = event.body if new == CaseStatus.RESOLUTION_PROPOSED else ""
    if new == CaseStatus.OPEN and str(p.get("from")) in (
        CaseStatus.RESOLUTION_PROPOSED,
        *FINISHED,
    ):
        return "Case reopened", "", False
    return _status_words(new), detail, False


def _asset_words(event: Event) -> str:
    """The product's name only (the staff summary appends serial and ISO dates)."""
    product = event.summary.removeprefix("Product registered: ")
    if product.endswith(")") and " (" in product:
        product = product.rpartition(" (")[0]
    return product.strip()


def _chat_about(event: Event) -> str:
    _, sep, about = event.summary.partition("about: ")
    return f"About: {about}" if sep and about else ""


def _order_like(event: Event) -> tuple[str, str, bool]:
    p = _payload(event)
    ref = order_reference(event)
    label = KINDS[event.kind].label if event.kind in KINDS else event.kind
    status = p.get("status") if isinstance(p.get("status"), str) else ""
    title = f"{label} {ref}".strip() + (f" — {status.replace('_', ' ')}" if status else "")
    return title, event.summary if not ref else "", False


PRESENTERS: dict[str, Callable[[Event], tuple[str, str, bool]]] = {
    "message": _message,
    "call": lambda e: ("Phone call", "", False),
    "chat": lambda e: ("Chat", _chat_about(e), True),
    "visit": lambda e: ("Visit in person", "", True),
    "web_visit": lambda e: ("Visit to our web site", "", True),
    "web_search": lambda e: ("Search on our web site", "", True),
    "web_configuration": lambda e: ("Product configured on our web site", "", True),
    "survey": lambda e: ("You answered a survey", "", True),
    "survey_invited": lambda e: ("We asked how we did", "", False),
    "case_opened": lambda e: ("Case opened", e.body, False),
    "status_change": _status_change,
    "task_added": lambda e: (e.summary.replace("Task for ", "Task: ", 1), "", False),
    "task_completed": lambda e: (e.summary, "", False),
    "confirmation": lambda e: ("You confirmed the problem is solved", "", True),
    "article_cited": lambda e: ("We sent you a help article", e.summary, False),
    "warranty": lambda e: ("Warranty", e.summary, False),
    "asset": lambda e: ("Product registered", _asset_words(e), False),
    **{k: _order_like for k in TRANSACTION_KINDS},
}


def present(event: Event, labels: Iterable[str] = ()) -> Item:
    presenter = PRESENTERS.get(event.kind)
    if presenter is not None:
        title, detail, from_me = presenter(event)
    else:  # a kind added later: its registry label only, never its body or payload
        title, detail, from_me = (
            (KINDS[event.kind].label if event.kind in KINDS else "Update"),
            "",
            False,
        )
    return Item(
        id=event.pk,
        at=event.occurred_at,
        channel=event.channel,
        channel_label=CHANNEL_LABELS.get(event.channel, event.channel),
        icon=CHANNEL_ICONS.get(event.channel, "dot"),
        kind=event.kind,
        title=title,
        detail=detail,
        case_id=event.case_id,
        from_me=from_me,
        labels=list(labels),
    )


def order_reference(event: Event) -> str:
    p = _payload(event)
    for key in ("order_number", "order_ref", "order", "reference", "order_id"):
        value = p.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()[:60]
    return ""


# --- labels ----------------------------------------------------------------------------------


def labels_for(
    customer: Customer, kind: str, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {}
    for object_id, name in (
        Label.objects.filter(customer=customer, kind=kind, object_id__in=list(ids))
        .order_by("name")
        .values_list("object_id", "name")
    ):
        found.setdefault(object_id, []).append(name)
    return found


def label_names(customer: Customer) -> list[str]:
    return list(
        Label.objects.filter(customer=customer)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )


def present_all(customer: Customer, events: list[Event]) -> list[Item]:
    labels = labels_for(customer, Label.Kind.EVENT, [e.pk for e in events])
    return [present(e, labels.get(e.pk, ())) for e in events]


# --- timeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineFilters:
    channel: str = ""
    kind: str = ""
    label: str = ""
    q: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def timeline_filters(params: Any) -> TimelineFilters:
    channel = str(params.get("channel", "")).strip()
    kind = str(params.get("kind", "")).strip()
    if channel and channel not in Channel.ALL:
        raise InvalidInput(f"unknown channel '{channel[:20]}'")
    if kind and kind not in CUSTOMER_KINDS:
        raise InvalidInput(f"unknown kind '{kind[:20]}'")
    return TimelineFilters(
        channel=channel,
        kind=kind,
        label=str(params.get("label", "")).strip()[:40],
        q=str(params.get("q", "")).strip()[:100],
    )


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_cursor: str | None


def timeline_page(
    customer: Customer,
    filters: TimelineFilters,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    kinds: Iterable[str] | None = None,
) -> Page:
    """One page of my timeline, newest first, keyset-paged: the same few queries at any depth."""
    qs = visible_events(customer)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.label:
        qs = qs.filter(
            pk__in=Label.objects.filter(
                customer=customer, kind=Label.Kind.EVENT, name=filters.label
            ).values("object_id")
        )
    if filters.q:
        qs = qs.filter(
            Q(summary__icontains=filters.q) | Q(kind__in=BODY_KINDS, body__icontains=filters.q)
        )
    if cursor:
        at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk))
    rows = list(qs.order_by("-occurred_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more and rows else None
    return Page(items=present_all(customer, rows), next_cursor=next_cursor)


# --- cases -----------------------------------------------------------------------------------


def case_status_words(case: Case) -> str:
    if case.status == CaseStatus.RESOLVED_CONFIRMED:
        return (
            f"Resolved — you confirmed on {day(case.resolved_at)}"
            if case.resolved_at
            else ("Resolved — you confirmed it")
        )
    if case.status == CaseStatus.CLOSED_UNCONFIRMED:
        return "Closed"
    return _status_words(case.status)


def task_words(task: Task) -> str:
    """'Parts: replacement battery — shipped on 3 March 2026' (never the completion note)."""
    head = f"{task.department.name}: {task.title}"
    if task.status == TaskStatus.DONE:
        return f"{head} — done on {day(task.completed_at)}"
    if task.status == TaskStatus.CANCELLED:
        return f"{head} — no longer needed"
    return f"{head} — in progress"


@dataclass
class CaseCard:
    case: Case
    status_words: str
    is_open: bool
    pinned: bool
    tasks: list[str]
    labels: list[str]
    mine: bool


def _cards(login: PortalLogin, cases: list[Case]) -> list[CaseCard]:
    customer = login.customer
    pins = set(
        Pin.objects.filter(customer=customer, case__in=[c.pk for c in cases]).values_list(
            "case_id", flat=True
        )
    )
    labels = labels_for(customer, Label.Kind.CASE, [c.pk for c in cases])
    cards = [
        CaseCard(
            case=c,
            status_words=case_status_words(c),
            is_open=c.status in OPEN_STATUSES,
            pinned=c.pk in pins,
            tasks=[task_words(t) for t in c.tasks.all()],
            labels=labels.get(c.pk, []),
            mine=c.customer_id == customer.pk,
        )
        for c in cases
    ]
    # pinned first, then open before finished, newest first within each (stable sort)
    cards.sort(key=lambda card: (not card.pinned, not card.is_open))
    return cards


def _with_tasks(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related("customer").prefetch_related(
        Prefetch("tasks", queryset=Task.objects.select_related("department").order_by("created_at"))
    )


def case_cards(
    login: PortalLogin, *, label: str = "", open_only: bool = False, limit: int = 200
) -> list[CaseCard]:
    qs = visible_cases(login)
    if open_only:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if label:
        qs = qs.filter(
            pk__in=Label.objects.filter(
                customer=login.customer, kind=Label.Kind.CASE, name=label
            ).values("object_id")
        )
    pinned = set(Pin.objects.filter(customer=login.customer).values_list("case_id", flat=True))
    # pinned cases always make the list, then the newest up to the limit
    rows = list(_with_tasks(qs.filter(pk__in=pinned)).order_by("-created_at")) if pinned else []
    rows += list(_with_tasks(qs.exclude(pk__in=pinned)).order_by("-created_at")[:limit])
    return _cards(login, rows)


@dataclass
class CaseDetail:
    card: CaseCard
    items: list[Item]
    attachments: list[Attachment]
    can_confirm: bool
    can_reopen: bool


def case_detail(login: PortalLogin, case: Case) -> CaseDetail:
    case = _with_tasks(Case.objects.filter(pk=case.pk)).get()
    (card,) = _cards(login, [case])
    events = list(
        Event.objects.filter(case=case, internal=False)
        .exclude(kind__in=INTERNAL_KINDS)
        .order_by("-occurred_at", "-id")[:200]
    )
    labels = labels_for(login.customer, Label.Kind.EVENT, [e.pk for e in events])
    return CaseDetail(
        card=card,
        items=[present(e, labels.get(e.pk, ())) for e in events],
        attachments=list(Attachment.objects.filter(case=case).order_by("created_at")),
        can_confirm=case.can_confirm(),
        can_reopen=case.can_reopen(),
    )


# --- products, orders, conversations -----------------------------------------------------------


@dataclass
class Product:
    asset: Asset
    nickname: str
    warranty_words: str
    under_warranty: bool
    labels: list[str]


def products(customer: Customer) -> list[Product]:
    assets = list(Asset.objects.filter(customer=customer).order_by("-purchased_at", "-created_at"))
    nicknames = dict(
        Nickname.objects.filter(customer=customer, asset__in=assets).values_list("asset_id", "name")
    )
    labels = labels_for(customer, Label.Kind.ASSET, [a.pk for a in assets])
    today = timezone.localdate()
    out = []
    for a in assets:
        if a.warranty_until is None:
            words, under = "No warranty on record", False
        elif a.warranty_until >= today:
            words, under = f"Under warranty until {day(a.warranty_until)}", True
        else:
            words, under = "Warranty ended", False
        out.append(Product(a, nicknames.get(a.pk, ""), words, under, labels.get(a.pk, [])))
    return out


@dataclass
class OrderGroup:
    reference: str
    items: list[Item]


def orders(customer: Customer, limit: int = 500) -> list[OrderGroup]:
    events = list(
        visible_events(customer)
        .filter(kind__in=TRANSACTION_KINDS)
        .order_by("-occurred_at", "-id")[:limit]
    )
    items = present_all(customer, events)
    groups: dict[str, OrderGroup] = {}
    for event, item in zip(events, items, strict=True):
        ref = order_reference(event)
        key = ref or f"_{event.pk}"
        groups.setdefault(key, OrderGroup(reference=ref, items=[])).items.append(item)
    return list(groups.values())


@dataclass
class Conversation:
    item: Item
    transcript: list[ChatMessage]


def conversations(customer: Customer, limit: int = 100) -> list[Conversation]:
    events = list(
        visible_events(customer)
        .filter(kind__in=CONVERSATION_KINDS)
        .order_by("-occurred_at", "-id")[:limit]
    )
    chats = {
        c.event_id: c
        for c in Chat.objects.filter(
            customer=customer, event__in=[e.pk for e in events]
        ).prefetch_related(
            Prefetch(
                "messages",
                queryset=ChatMessage.objects.exclude(sender="system").order_by("seq"),
            )
        )
    }
    out = []
    for event, item in zip(events, present_all(customer, events), strict=True):
        chat = chats.get(event.pk)
        out.append(Conversation(item=item, transcript=list(chat.messages.all()) if chat else []))
    return out


def recent_items(customer: Customer, limit: int = 6) -> list[Item]:
    events = list(visible_events(customer).order_by("-occurred_at", "-id")[:limit])
    return present_all(customer, events)
