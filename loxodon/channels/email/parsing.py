"""Reading an inbound message: headers, text, sanitised HTML, attachments, defects.

Pure functions over bytes (no database), written to survive what real mail systems send:

- Parsed with the standard library (`policy.default`). Every header read is guarded: a header
  the modern parser cannot read is decoded again the old way (RFC 2047 words, raw 8-bit bytes
  taken as UTF-8 or else Windows-1252) instead of failing the whole message.
- Text parts are decoded with their declared charset, then UTF-8, then Windows-1252; bytes
  that fit none are replaced, never fatal. A part labelled Latin-1/ASCII whose bytes are
  valid UTF-8 is read as UTF-8 (the commonest mislabelling).
- HTML is cleaned with nh3 (no scripts, styles, event handlers, `javascript:` links, remote
  images; links get `rel="noopener noreferrer nofollow"`). The text shown on the timeline comes
  from the text part, or from the cleaned HTML when there is none.
- Every non-body part is an attachment; `winmail.dat` (TNEF) is opened and its files taken
  out; inline `cid:` images are attachments too (never fetched or rendered remotely).
- `quote_start` marks where the quoted earlier message or forwarded chain begins, so the desk
  can show the fresh part first; the body itself is always kept whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import nh3

ENVELOPE_FROM = "X-Loxodon-Envelope-From"
ENVELOPE_TO = "X-Loxodon-Envelope-To"
MAX_BODY_CHARS = 200_000  # text kept on the event; the raw message always has everything
MAX_HTML_BYTES = 8 * 1024 * 1024  # larger HTML parts are not cleaned or shown (kept raw)
MAX_DEPTH = 20  # nested multiparts deeper than this are treated as attachments

_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "x-sjis": "shift_jis",
    "sjis": "shift_jis",
    "windows-874": "cp874",
    "iso-8859-1": "cp1252",  # what senders labelled Latin-1 nearly always mean (WHATWG)
    "latin1": "cp1252",
    "us-ascii": "ascii",
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
}
_LOOSE_CHARSETS = {"ascii", "cp1252", "iso-8859-15", "latin-1"}


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    note: str = ""  # e.g. "from winmail.dat"


@dataclass
class ParsedMail:
    message_id: str = ""
    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    envelope_from: str = ""
    envelope_to: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""
    quote_start: int | None = None
    truncated: bool = False
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    # loop- and trust-relevant headers only (see `_loop_headers`)
    headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = ""
    is_report: bool = False  # multipart/report (delivery status notifications)


class UnreadableMail(ValueError):
    """The bytes are not an email message we can read at all (kept raw, listed for staff)."""


# --- bytes and envelope ----------------------------------------------------------------------


def split_envelope(raw: bytes) -> tuple[str, list[str], bytes]:
    """Take off the envelope lines the spool prepended: (mail from, rcpt tos, message bytes)."""
    mail_from, rcpts = "", []
    rest = raw
    prefix_from = ENVELOPE_FROM.encode() + b": "
    prefix_to = ENVELOPE_TO.encode() + b": "
    while True:
        line, sep, after = rest.partition(b"\n")
        if not sep:
            break
        if line.startswith(prefix_from):
            mail_from = _decode_bytes(line[len(prefix_from) :].rstrip(b"\r"))
        elif line.startswith(prefix_to):
            rcpts.append(_decode_bytes(line[len(prefix_to) :].rstrip(b"\r")))
        else:
            break
        rest = after
    return mail_from, rcpts, rest


def message_digest(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def _decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes → text without ever failing: declared charset, UTF-8, then Windows-1252."""
    candidates: list[str] = []
    if declared:
        name = declared.strip().strip('"').lower()
        name = _CHARSET_ALIASES.get(name, name)
        if name in _LOOSE_CHARSETS or name.replace("_", "-").startswith("iso-8859-1"):
            candidates.append("utf-8")  # valid UTF-8 labelled Latin-1/ASCII is UTF-8
        candidates.append(name)
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("cp1252", errors="replace")


def _decode_mixed(data: bytes) -> str:
    """Raw 8-bit header bytes, where one header may mix UTF-8 and Latin-1 runs."""
    out = []
    for chunk in re.split(rb"([\x80-\xff]+)", data):
        if chunk and chunk[0] >= 0x80:
            out.append(_decode_bytes(chunk))
        else:
            out.append(chunk.decode("ascii", "replace"))
    return "".join(out)


def _clean(text: str) -> str:
    """A header string that may carry surrogate-escaped 8-bit bytes → proper text."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = _decode_mixed(text.encode("utf-8", "surrogateescape"))
    return text.replace("\x00", "")


# --- headers ---------------------------------------------------------------------------------


def _raw_header_values(msg: Message, name: str) -> list[str]:
    """Header values the old way (RFC 2047 decoded by hand), for when policy.default fails."""
    out = []
    for key, value in msg.raw_items() if hasattr(msg, "raw_items") else msg.items():
        if key.lower() != name.lower():
            continue
        text = value if isinstance(value, str) else str(value)
        with contextlib.suppress(Exception):  # undecodable encoded words stay as written
            text = _decode_words(text)
        out.append(_clean(text))
    return out


def _decode_words(text: str) -> str:
    """RFC 2047 encoded words, each in its own charset (unknown ones never fatal)."""
    parts = []
    for chunk, charset in decode_header(text):
        if isinstance(chunk, bytes):
            parts.append(_decode_mixed(chunk) if charset is None else _decode_bytes(chunk, charset))
        else:
            parts.append(chunk)
    return "".join(parts)


def header(msg: Message, name: str) -> str:
    values = headers(msg, name)
    return values[0] if values else ""


def headers(msg: Message, name: str) -> list[str]:
    try:
        values = [_clean(str(v)).strip() for v in msg.get_all(name) or []]
    except Exception:
        values = []
    if not values or any("\ufffd" in v for v in values):
        # unreadable for the modern parser, or raw 8-bit bytes it replaced: decode by hand
        return [v.strip() for v in _raw_header_values(msg, name)] or values
    return values


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs; unreadable headers fall back to the permissive parser."""
    pairs: list[tuple[str, str]] = []
    try:
        for value in msg.get_all(name) or []:
            for a in getattr(value, "addresses", ()):
                pairs.append((_clean(a.display_name or ""), _clean(a.addr_spec or "")))
        if pairs and not any("\ufffd" in n for n, _ in pairs):
            return [(n, a) for n, a in pairs if a and a != "<>"]
    except Exception:  # noqa: S110 - fall through to the permissive parser
        pass
    raw = _raw_header_values(msg, name)
    return [(_clean(n), _clean(a)) for n, a in getaddresses(raw) if a and "@" in a]


def _message_ids(values: list[str]) -> list[str]:
    ids: list[str] = []
    for value in values:
        found = re.findall(r"<[^<>\s]+>", value)
        ids += found or [v for v in value.split() if v]
    return ids


def _date(msg: Message) -> datetime | None:
    value = header(msg, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


# --- bodies ----------------------------------------------------------------------------------


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return _clean(raw) if isinstance(raw, str) else ""
    return _decode_bytes(payload, part.get_content_charset())


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return _clean(name).strip()


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


class _TextFromHtml(HTMLParser):
    _BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "hr",
            "section",
            "article",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")
        if tag == "blockquote":
            self.out.append("\x00Q")  # marks the start of quoted text

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(html: str) -> tuple[str, int | None]:
    """Readable text from (already cleaned) HTML, and where the first <blockquote> starts."""
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    joined = "".join(parser.out)
    lines = [re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in joined.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    marker = text.find("\x00Q")
    text = text.replace("\x00Q", "")
    return text, (marker if marker >= 0 else None)


def _drop_remote_src(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return None  # no remote images, no tracking pixels; inline images are attachments
    return value


def sanitise_html(html: str) -> str:
    """HTML that is safe to show staff: nh3 with a small allow-list and no remote content."""
    tags = {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
        "tr", "u", "ul",
    }  # fmt: skip
    attributes = {
        "a": {"href", "title"},
        "img": {"alt", "title", "width", "height", "src"},
        "td": {"colspan", "rowspan"},
        "th": {"colspan", "rowspan"},
    }
    return nh3.clean(
        html,
        tags=tags,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=attributes,
        attribute_filter=_drop_remote_src,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_QUOTE_MARKERS = [
    re.compile(r"^On [^\n]{1,300}?(\n[^\n]{1,200}?)?wrote:[ \t]*$", re.M),
    re.compile(r"^Le [^\n]{1,300}?a écrit ?:[ \t]*$", re.M),
    re.compile(r"^Am [^\n]{1,300}?schrieb [^\n]{0,200}:[ \t]*$", re.M),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}[ \t]*$", re.M | re.I),
    re.compile(r"^-{2,}\s*Forwarded message\s*-{2,}[ \t]*$", re.M | re.I),
    re.compile(r"^Begin forwarded message:[ \t]*$", re.M),
    re.compile(r"^_{8,}[ \t]*\n(From|Von|De): ", re.M),
    re.compile(r"^From: [^\n]+\n(Sent|Date): [^\n]+\n", re.M),
    re.compile(r"^>", re.M),
]


def find_quote_start(text: str) -> int | None:
    """Where the quoted earlier message or forwarded chain begins; None if there is none or
    if nothing fresh comes before it (a bare forward is shown whole)."""
    starts = [m.start() for rx in _QUOTE_MARKERS if (m := rx.search(text))]
    if not starts:
        return None
    start = min(starts)
    return start if text[:start].strip() else None


# --- the message ------------------------------------------------------------------------------


@dataclass
class _Walk:
    text_parts: list[str] = field(default_factory=list)
    html_parts: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def _attachment(part: Message, content_type: str, walk: _Walk) -> None:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        if isinstance(payload, list):  # message/rfc822 and friends: keep the bytes as written
            data = b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
        else:
            data = str(payload or "").encode("utf-8", "surrogateescape")
    name = _filename(part)
    cid = header(part, "Content-ID").strip().strip("<>")
    if content_type == "application/ms-tnef" or name.lower() == "winmail.dat":
        extracted = _tnef_files(data, walk)
        if extracted is not None:
            walk.attachments += extracted
            return
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()  # a name, never a path
    if not name:
        ext = {"message/rfc822": ".eml", "text/plain": ".txt"}.get(content_type) or (
            mimetypes.guess_extension(content_type) or ""
        )
        name = f"{'inline' if cid else 'attachment'}-{len(walk.attachments) + 1}{ext}"
    walk.attachments.append(
        ParsedAttachment(filename=name, content_type=content_type, data=data, content_id=cid)
    )


def _tnef_files(data: bytes, walk: _Walk) -> list[ParsedAttachment] | None:
    """Files inside an Outlook winmail.dat; None when it cannot be read (kept as it is)."""
    try:
        from tnefparse import TNEF

        tnef = TNEF(data)
    except Exception as exc:
        walk.defects.append(f"winmail.dat could not be read: {type(exc).__name__}")
        return None
    files = []
    for item in tnef.attachments:
        try:
            name = item.long_filename() or item.name
        except Exception:
            name = item.name
        if isinstance(name, bytes):
            name = _decode_bytes(name)
        files.append(
            ParsedAttachment(
                filename=_clean(str(name or "attachment")).strip("\x00") or "attachment",
                content_type="application/octet-stream",
                data=bytes(item.data or b""),
                note="from winmail.dat",
            )
        )
    body = getattr(tnef, "body", None)
    if body and not walk.text_parts:
        walk.text_parts.append(_decode_bytes(body) if isinstance(body, bytes) else str(body))
    return files


def _walk(part: Message, walk: _Walk, depth: int = 0) -> None:
    try:
        content_type = part.get_content_type().lower()
    except Exception:
        content_type = "application/octet-stream"
    for defect in getattr(part, "defects", []):
        walk.defects.append(type(defect).__name__)
    if content_type.startswith("multipart/") and not part.is_multipart():
        walk.defects.append("multipart without parts (read as text)")
        walk.text_parts.append(_part_text(part))
        return
    if part.is_multipart() and content_type.startswith("multipart/") and depth < MAX_DEPTH:
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if content_type == "multipart/alternative":
            _walk_alternative(children, walk, depth)
            return
        for child in children:
            _walk(child, walk, depth + 1)
        return
    disposition = _disposition(part)
    is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
    if is_body_text and not _filename(part):
        target = walk.text_parts if content_type == "text/plain" else walk.html_parts
        target.append(_part_text(part))
        return
    _attachment(part, content_type, walk)


def _walk_alternative(children: list[Message], walk: _Walk, depth: int) -> None:
    """multipart/alternative: one plain text and one HTML version of the same message."""
    text_before, html_before = len(walk.text_parts), len(walk.html_parts)
    for child in children:
        sub = _Walk()
        _walk(child, sub, depth + 1)
        walk.defects += sub.defects
        walk.attachments += sub.attachments
        if sub.text_parts and len(walk.text_parts) == text_before:
            walk.text_parts += sub.text_parts
        if sub.html_parts and len(walk.html_parts) == html_before:
            walk.html_parts += sub.html_parts


def _loop_headers(msg: Message) -> dict[str, list[str]]:
    wanted = (
        "Auto-Submitted",
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
        "Precedence",
        "X-Loop",
        "List-Id",
        "List-Unsubscribe",
        "X-Failed-Recipients",
        "Return-Path",
        "Authentication-Results",  # the receiving MTA's SPF/DKIM/DMARC verdict (quarantine.py)
    )
    out = {}
    for name in wanted:
        values = headers(msg, name)
        if values:
            out[name.lower()] = values[:10]
    return out


def parse_message(message: bytes) -> ParsedMail:
    """Read one message (without the spool's envelope lines). Raises UnreadableMail only when
    the bytes hold no message at all; damaged messages are read as far as possible and their
    defects listed."""
    if not message.strip():
        raise UnreadableMail("the message is empty")
    try:
        msg: Any = BytesParser(policy=policy.default).parsebytes(message)
    except Exception as exc:
        raise UnreadableMail(f"the message could not be parsed: {exc}") from exc
    if not isinstance(msg, EmailMessage | Message) or not list(msg.keys()):
        raise UnreadableMail("no headers found: this is not an email message")

    parsed = ParsedMail()
    parsed.message_id = header(msg, "Message-ID")[:500]
    parsed.subject = re.sub(r"\s+", " ", header(msg, "Subject")).strip()
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    parsed.to = [a for _, a in _addresses(msg, "To")]
    parsed.cc = [a for _, a in _addresses(msg, "Cc")]
    parsed.reply_to = [a for _, a in _addresses(msg, "Reply-To")]
    parsed.delivered_to = headers(msg, "Delivered-To") + headers(msg, "X-Original-To")
    parsed.in_reply_to = _message_ids(headers(msg, "In-Reply-To"))
    parsed.references = _message_ids(headers(msg, "References"))
    parsed.date = _date(msg)
    parsed.headers = _loop_headers(msg)
    try:
        parsed.content_type = msg.get_content_type().lower()
    except Exception:
        parsed.content_type = "text/plain"
    parsed.is_report = parsed.content_type == "multipart/report"

    walk = _Walk()
    _walk(msg, walk)
    parsed.attachments = walk.attachments
    parsed.defects = sorted(set(walk.defects))

    html_source = "\n".join(walk.html_parts)
    if len(html_source) > MAX_HTML_BYTES:
        parsed.defects.append("HTML part too large to clean; kept in the raw message")
        html_source = ""
    if html_source:
        parsed.html = sanitise_html(html_source)
    text = "\n\n".join(t.strip("\n") for t in walk.text_parts)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    quote_start: int | None = None
    if text:
        quote_start = find_quote_start(text)
    elif parsed.html:
        text, quote_start = html_to_text(parsed.html)
        quote_start = find_quote_start(text) if quote_start is None else quote_start
        if quote_start is not None and not text[:quote_start].strip():
            quote_start = None
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS]
        parsed.truncated = True
    if quote_start is not None and quote_start >= len(text):
        quote_start = None
    parsed.text, parsed.quote_start = text, quote_start
    return parsed
