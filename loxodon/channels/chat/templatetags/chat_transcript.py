"""Rendering the compact transcript stored in a chat event's body (no queries)."""

from __future__ import annotations

from django import template

register = template.Library()

SYSTEM_PREFIX = "· "


@register.filter
def transcript_lines(body: str) -> list[tuple[str, str]]:
    """ "Ann: hello" → ("Ann", "hello"); system lines ("· Ann joined the chat") → ("", text)."""
    out: list[tuple[str, str]] = []
    for line in (body or "").splitlines():
        if line.startswith(SYSTEM_PREFIX):
            out.append(("", line[len(SYSTEM_PREFIX) :]))
            continue
        who, sep, text = line.partition(": ")
        out.append((who, text) if sep and len(who) <= 60 else ("", line))
    return out
