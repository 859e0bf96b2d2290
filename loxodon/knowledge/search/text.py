"""Words in, safe HTML out: query sanitising, vocabulary terms and the snippet highlighter.

Nothing the user types reaches a search engine's query syntax as typed: queries are reduced to
words (letters and digits, any script), each then quoted for the engine. Snippets are built here
for both databases from the indexed plain text: every piece of text is HTML-escaped, and only our
own `<mark>` tags are added around matched words.
"""

from __future__ import annotations

import functools
import html
import re

MAX_QUERY_WORDS = 12
MAX_WORD_LENGTH = 40
SNIPPET_CHARS = 220

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TERM = re.compile(r"[^\W\d_]{3,30}", re.UNICODE)
# Small English list: dropped from queries (PostgreSQL's english config drops them anyway, FTS5
# would demand them), so both databases answer "how do I return a phone" alike.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours out over own same she should so some
    such than that the their theirs them then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours
    yourself""".split()  # noqa: SIM905
)
_SUFFIXES = ("ements", "ement", "ments", "ment", "ingly", "ings", "ing", "edly", "ed", "ies",
             "es", "ly", "er", "ers", "s")  # fmt: skip


def query_words(q: str) -> list[str]:
    """The words of a user's query, lower-cased, at most MAX_QUERY_WORDS, stopwords dropped
    (unless the query is nothing but stopwords)."""
    words = [w.lower()[:MAX_WORD_LENGTH] for w in _WORD.findall(q or "")[: MAX_QUERY_WORDS * 4]]
    kept = [w for w in words if w not in STOPWORDS]
    unique = list(dict.fromkeys(kept or words))
    return unique[:MAX_QUERY_WORDS]


def problem_words(text: str, limit: int = 20) -> list[str]:
    """Significant words of free text (a case's problem): no stopwords, no one-letter words."""
    words = [w.lower()[:MAX_WORD_LENGTH] for w in _WORD.findall(text or "")[:400]]
    kept = [w for w in words if w not in STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(kept))[:limit]


def vocabulary_terms(*texts: str) -> set[str]:
    """Words worth suggesting: letters only, 3 to 30 of them, lower-cased."""
    return {t.lower() for text in texts for t in _TERM.findall(text or "")}


def stem(word: str) -> str:
    """A crude stem for highlighting (the engines stem properly; this only has to find the
    words they matched): strip one common English suffix, keep at least three letters."""
    w = word.lower()
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


@functools.lru_cache(maxsize=256)
def _matcher_for(words: tuple[str, ...]) -> re.Pattern[str] | None:
    stems = sorted({stem(w) for w in words if w}, key=len, reverse=True)
    if not stems:
        return None
    alternatives = "|".join(re.escape(s) for s in stems)
    return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]{{0,5}}(?![^\W_])", re.IGNORECASE)


def _matcher(words: list[str]) -> re.Pattern[str] | None:
    return _matcher_for(tuple(words))


def highlight(text: str, words: list[str]) -> str:
    """All of `text`, escaped, with matched words in <mark>."""
    pattern = _matcher(words)
    if pattern is None:
        return html.escape(text)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        out.append(f"<mark>{html.escape(m.group(0))}</mark>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def snippet(body: str, words: list[str], size: int = SNIPPET_CHARS) -> str:
    """About `size` characters of `body` around the first matched word, escaped, matches marked."""
    body = body or ""
    pattern = _matcher(words)
    first = pattern.search(body) if pattern else None
    if first is None or first.start() < size // 3:
        start = 0
    else:
        start = first.start() - size // 3
        space = body.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 30 else start
    end = min(len(body), start + size)
    if end < len(body):
        space = body.rfind(" ", start + size // 2, end)
        end = space if space > 0 else end
    text = body[start:end].strip()
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(body) else ""
    return f"{prefix}{highlight(text, words)}{suffix}"
