"""Article Markdown → safe HTML, with channel-only sections.

A section that applies to one or more channels only is fenced like this:

    :::phone in_person
    Read the serial number back to the customer.
    :::

Rendering for a channel keeps the sections for that channel and drops the others; rendering for
`None` (the agent's "all channels" view) keeps every section, each labelled with its channels.
Markdown is rendered by markdown-it-py with raw HTML switched off, then sanitised by nh3 anyway:
article bodies are written by staff but shown to customers, and defence in depth is cheap.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

from loxodon.core.event_types import Channel

# Channels an article section can be meant for (the ones people talk to us on).
VARIANT_CHANNELS = ("phone", "email", "chat", "web", "in_person", "sms", "letter")
VARIANT_LABELS = {
    "phone": "Phone",
    "email": "Email",
    "chat": "Chat",
    "web": "Web / portal",
    "in_person": "In store",
    "sms": "SMS",
    "letter": "Letter",
}
_OPEN = re.compile(r"^:::\s*([a-z_ ]+?)\s*$")
_CLOSE = re.compile(r"^:::\s*$")
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "div",
    "span", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "div": {"class", "data-channels"},
    "span": {"class"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}


class VariantError(ValueError):
    """The body's channel sections are malformed (unknown channel, unclosed or nested fence)."""


@dataclass(frozen=True)
class Section:
    channels: tuple[str, ...]  # empty: every channel
    text: str


def split_sections(body: str) -> list[Section]:
    """The body as a list of sections, in order; raises VariantError on a malformed fence."""
    sections: list[Section] = []
    lines: list[str] = []
    current: tuple[str, ...] = ()
    opened_at = 0
    for number, line in enumerate(body.splitlines(), start=1):
        stripped = line.strip()
        if _CLOSE.match(stripped):
            if not current:
                raise VariantError(f"line {number}: ':::' closes a channel section never opened")
            sections.append(Section(current, "\n".join(lines)))
            lines, current = [], ()
            continue
        opened = _OPEN.match(stripped)
        if opened:
            if current:
                raise VariantError(
                    f"line {number}: channel sections cannot nest (the one on line "
                    f"{opened_at} is still open)"
                )
            channels = tuple(opened.group(1).split())
            unknown = [c for c in channels if c not in VARIANT_CHANNELS]
            if unknown:
                raise VariantError(
                    f"line {number}: unknown channel {', '.join(unknown)}; "
                    f"use {', '.join(VARIANT_CHANNELS)}"
                )
            if lines:
                sections.append(Section((), "\n".join(lines)))
            lines, current, opened_at = [], channels, number
            continue
        lines.append(line)
    if current:
        raise VariantError(f"line {opened_at}: channel section not closed with ':::'")
    if lines:
        sections.append(Section((), "\n".join(lines)))
    return sections


def channels_in(body: str) -> list[str]:
    """The channels that have a section of their own, in the canonical order."""
    seen = {c for s in split_sections(body) for c in s.channels}
    return [c for c in VARIANT_CHANNELS if c in seen]


def for_channel(body: str, channel: str | None) -> str:
    """The Markdown a customer on `channel` is given: common text plus that channel's sections."""
    if channel == Channel.IVR:
        channel = Channel.PHONE
    return "\n\n".join(
        s.text for s in split_sections(body) if not s.channels or channel in s.channels
    )


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> str:
    return sanitise(_md.render(text))


def render(body: str, channel: str | None = None) -> str:
    """Safe HTML of the article for `channel`, or of every section labelled (channel None)."""
    if channel is not None:
        return render_markdown(for_channel(body, channel))
    parts = []
    for section in split_sections(body):
        html = render_markdown(section.text)
        if section.channels:
            label = " · ".join(VARIANT_LABELS[c] for c in section.channels)
            html = (
                f'<div class="kb-variant" data-channels="{" ".join(section.channels)}">'
                f'<span class="kb-variant-label">{label} only</span>{html}</div>'
            )
        parts.append(html)
    return sanitise("".join(parts))


def plain_text(body: str) -> str:
    """Text without markup, for search indexes and snippets (every section included)."""
    html = render_markdown("\n\n".join(s.text for s in split_sections(body)))
    text = html_lib.unescape(nh3.clean(html, tags=set()))
    return re.sub(r"\s+", " ", text).strip()
