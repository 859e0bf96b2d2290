"""Showing an email event from its row alone (no queries): fresh text, quoted text, files."""

from __future__ import annotations

import uuid
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

register = template.Library()


def _quote_start(event: Any) -> int | None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    start = payload.get("quote_start")
    body = event.body or ""
    if isinstance(start, int) and not isinstance(start, bool) and 0 < start < len(body):
        return start
    return None


@register.filter
def mail_fresh(event: Any) -> str:
    """What the sender wrote this time (the whole body when nothing is quoted)."""
    start = _quote_start(event)
    body = str(event.body or "")
    return body[:start].rstrip() if start is not None else body


@register.filter
def mail_quoted(event: Any) -> str:
    """The earlier messages the sender quoted or forwarded ('' when none)."""
    start = _quote_start(event)
    return str(event.body or "")[start:] if start is not None else ""


def _files(items: Any) -> list[dict[str, str]]:
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            pk = uuid.UUID(str(item.get("id")))
        except ValueError:
            continue
        size = item.get("size")
        out.append(
            {
                "url": reverse("channels_email:attachment", args=[pk]),
                "filename": str(item.get("filename") or "attachment"),
                "size": filesizeformat(size) if isinstance(size, int) else "",
                "inline": "inline image" if item.get("inline") else "",
                "note": str(item.get("note") or ""),
            }
        )
    return out


@register.filter
def mail_attachments(event: Any) -> list[dict[str, str]]:
    payload = event.payload if isinstance(event.payload, dict) else {}
    return _files(payload.get("attachments"))


@register.filter
def mail_flags(event: Any) -> dict[str, Any]:
    payload = event.payload if isinstance(event.payload, dict) else {}
    flags = payload.get("flags")
    return flags if isinstance(flags, dict) else {}


@register.filter
def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


@register.filter
def mail_claimed_case_url(event: Any) -> str:
    """Link to the case a mismatched sender referred to (staff only see the timeline)."""
    mismatch = mail_flags(event).get("sender_mismatch")
    if not isinstance(mismatch, dict):
        return ""
    try:
        pk = uuid.UUID(str(mismatch.get("case_id")))
    except ValueError:
        return ""
    return reverse("desk:case", args=[str(pk)])
