"""Filters for rendering a call on the timeline from its event payload (no queries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

register = template.Library()


@register.filter
def http_url(value: Any) -> str:
    """The value if it is an http(s) URL, else "" (never render `javascript:` and friends)."""
    if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
        return value
    return ""


@register.filter
def iso_datetime(value: Any) -> datetime | None:
    """An ISO 8601 string from a payload → an aware datetime the `date` filter can format."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


STEP_LABELS = {
    "call.started": "Call started",
    "ivr.completed": "IVR completed",
    "call.routed": "Routed",
    "call.ended": "Call ended",
}


@register.filter
def step_label(step_type: Any) -> str:
    return STEP_LABELS.get(str(step_type), str(step_type))
