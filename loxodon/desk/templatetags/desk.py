from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from loxodon.core.event_types import KINDS

register = template.Library()

CHANNEL_ICONS = {
    "phone": "telephone",
    "ivr": "grid-3x3-gap",
    "email": "envelope",
    "chat": "chat-dots",
    "sms": "phone",
    "web": "globe2",
    "in_person": "shop",
    "letter": "mailbox",
    "system": "gear",
}
STATUS_STYLES = {
    "new": "text-bg-secondary",
    "open": "text-bg-primary",
    "waiting_on_customer": "text-bg-warning",
    "waiting_on_us": "text-bg-info",
    "resolution_proposed": "text-bg-purple",
    "resolved_confirmed": "text-bg-success",
    "closed_unconfirmed": "text-bg-dark",
    "done": "text-bg-success",
    "cancelled": "text-bg-secondary",
}
PRIORITY_STYLES = {
    "urgent": "text-bg-danger",
    "high": "text-bg-warning",
    "normal": "text-bg-light border",
    "low": "text-bg-light border text-secondary",
}
ALERT_STYLES = {"danger": "danger", "warning": "warning", "info": "info"}


@register.filter
def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, "circle")


@register.filter
def kind_label(kind: str) -> str:
    k = KINDS.get(kind)
    return k.label if k else kind.replace("_", " ").capitalize()


@lru_cache(maxsize=128)
def _body_template(kind: str) -> str:
    name = f"desk/events/{kind}.html"
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return "desk/events/_default.html"
    return name


@register.filter
def event_body_template(kind: str) -> str:
    """How an event's details are shown: `desk/events/<kind>.html` if a channel app ships one
    (calls, chats, web visits, email messages), else the default body + payload list.
    Such templates render from the event row alone (no queries: the timeline's query count is
    pinned)."""
    return _body_template(kind)


@register.filter
def status_style(status: str) -> str:
    return STATUS_STYLES.get(status, "text-bg-secondary")


@register.filter
def priority_style(priority: str) -> str:
    return PRIORITY_STYLES.get(priority, "text-bg-light")


LABELS = {"ivr": "IVR", "sms": "SMS", "in_person": "In person", "web": "Web"}


@register.filter
def humanise(value: str) -> str:
    return LABELS.get(value, value.replace("_", " ").capitalize())


@register.filter
def payload_items(payload: Any, also_skip: str = "") -> list[tuple[str, str]]:
    """The payload's simple facts as (label, text) pairs; `also_skip` is "key,key" shown
    elsewhere by a kind's own template (e.g. an order's lines as a table)."""
    if not isinstance(payload, dict):
        return []
    skip = {
        "case_id",
        "task_id",
        "handoff_id",
        "asset_id",
        "contact_event_id",
        "invitation_id",
        "about_event_id",
    }
    skip |= {k.strip() for k in also_skip.split(",") if k.strip()}
    return [
        (k.replace("_", " "), ", ".join(map(str, v)) if isinstance(v, list) else str(v))
        for k, v in payload.items()
        if k not in skip and v not in (None, "", [], {})
    ]


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters replaced (for sort/filter/page links)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
