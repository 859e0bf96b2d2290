"""What changed between two versions of an article, ready to print.

Line-level diff (difflib) of the title, audience, review date, body and policy parameters; within
a changed line, a word-level diff marks the removed words `<del>` and the added ones `<ins>`.
Every piece of text is HTML-escaped here, so the output is safe to print as it is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from loxodon.knowledge.models import ArticleVersion, Audience

LineKind = Literal["same", "added", "removed", "changed", "skipped"]
CONTEXT = 3  # unchanged lines kept around each change
WHOLE_LINE_BELOW = 0.5  # a changed line this dissimilar is shown as removed + added, not by word
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class DiffLine:
    kind: LineKind
    html: SafeString  # escaped text with <ins>/<del> marks; for "skipped", a count in words
    old_number: int | None = None
    new_number: int | None = None


@dataclass
class FieldDiff:
    name: str
    label: str
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(line.kind in ("added", "removed", "changed") for line in self.lines)


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def _mark(tag: str, tokens: list[str]) -> str:
    text = "".join(tokens)
    if not text:
        return ""
    return f"<{tag}>{escape(text)}</{tag}>"


def diff_words(old: str, new: str) -> SafeString:
    """One line showing `old` turned into `new`: removed words in <del>, added in <ins>."""
    a, b = _tokens(old), _tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < WHOLE_LINE_BELOW:  # mostly rewritten: old line out, new line in
        return mark_safe(_mark("del", a) + " " + _mark("ins", b))  # noqa: S308 - escaped
    parts: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(a[i1:i2])))
            continue
        parts.append(_mark("del", a[i1:i2]))
        parts.append(_mark("ins", b[j1:j2]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


def _collapse(lines: list[DiffLine], context: int) -> list[DiffLine]:
    """Long runs of unchanged lines folded to `context` lines either side of each change."""
    if context < 0:
        return lines
    changed = [i for i, line in enumerate(lines) if line.kind != "same"]
    if not changed:
        return lines
    keep: set[int] = set()
    for i in changed:
        keep.update(range(max(0, i - context), min(len(lines), i + context + 1)))
    out: list[DiffLine] = []
    skipped = 0
    for i, line in enumerate(lines):
        if i in keep:
            if skipped:
                out.append(_skipped(skipped))
                skipped = 0
            out.append(line)
        else:
            skipped += 1
    if skipped:
        out.append(_skipped(skipped))
    return out


def _skipped(n: int) -> DiffLine:
    return DiffLine("skipped", mark_safe(f"{n} unchanged line{'s' if n != 1 else ''}"))  # noqa: S308


def diff_lines(old: str, new: str, *, context: int = CONTEXT) -> list[DiffLine]:
    """Line-by-line diff; a replaced line paired with its replacement gets a word-level diff."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                lines.append(DiffLine("same", escape(a[i1 + k]), i1 + k + 1, j1 + k + 1))
            continue
        old_part, new_part = a[i1:i2], b[j1:j2]
        paired = min(len(old_part), len(new_part)) if op == "replace" else 0
        for k in range(paired):
            lines.append(
                DiffLine("changed", diff_words(old_part[k], new_part[k]), i1 + k + 1, j1 + k + 1)
            )
        for k in range(paired, len(old_part)):
            lines.append(
                DiffLine("removed", mark_safe(_mark("del", [old_part[k]])), i1 + k + 1, None)  # noqa: S308
            )
        for k in range(paired, len(new_part)):
            lines.append(
                DiffLine("added", mark_safe(_mark("ins", [new_part[k]])), None, j1 + k + 1)  # noqa: S308
            )
    return _collapse(lines, context)


def policy_lines(policy: dict[str, Any] | None) -> str:
    """A policy as one line per parameter, so a diff reads like the parameters table."""
    if not policy:
        return "(not a policy)"
    out = []
    for p in policy.get("parameters", []):
        value = p.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        unit = f" {p['unit']}" if p.get("unit") else (" days" if p.get("type") == "days" else "")
        authority = ", ".join(
            f"{role} {_number(limit)}" for role, limit in sorted((p.get("authority") or {}).items())
        )
        out.append(
            f"{p.get('label')} [{p.get('key')}, {p.get('type')}]: {shown}{unit}"
            f" · authority: {authority or 'none'}"
        )
    return "\n".join(out)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _audience(value: str) -> str:
    return str(Audience(value).label) if value in Audience.values else value


def diff_versions(old: ArticleVersion, new: ArticleVersion) -> list[FieldDiff]:
    """The fields of two versions, each with its diff (unchanged fields have no marks)."""
    pairs = [
        ("title", "Title", old.title, new.title),
        ("audience", "Audience", _audience(old.audience), _audience(new.audience)),
        (
            "review_by",
            "Review by",
            old.review_by.isoformat() if old.review_by else "(none)",
            new.review_by.isoformat() if new.review_by else "(none)",
        ),
        ("body", "Body", old.body, new.body),
        ("policy", "Policy parameters", policy_lines(old.policy), policy_lines(new.policy)),
    ]
    return [
        FieldDiff(name, label, diff_lines(before, after)) for name, label, before, after in pairs
    ]
