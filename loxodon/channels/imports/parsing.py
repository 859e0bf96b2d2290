"""Reading a centre's CSV export into normalised rows, and the per-row error report.

Nothing here writes to the database: a row either becomes a typed record or one or more
`RowError`s naming the row (as a spreadsheet numbers it: the header is row 1), the column, the
value and why.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

from loxodon.channels.imports.mapping import PAYLOAD_PREFIX, Mapping
from loxodon.core.errors import InvalidInput
from loxodon.core.event_types import KINDS, Channel
from loxodon.core.spreadsheet import safe_text
from loxodon.customers.normalise import (
    normalise_account_number,
    normalise_email,
    normalise_legacy,
    normalise_phone,
    normalise_postcode,
)
from loxodon.timeline.services import MAX_PAYLOAD_BYTES, SERVICE_ONLY_KINDS
from loxodon.timeline.transactions import PAYLOAD_SCHEMAS, check_payload

REPORT_HEADER = ("row", "legacy_id", "column", "value", "message")
OLDEST_BIRTH = date(1900, 1, 1)
ISO_DATE = "%Y-%m-%d"
ISO_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class RowError:
    row: int
    legacy_id: str
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        shown = f" '{self.value}'" if self.value else ""
        return f"{where}:{shown} {self.message}"


class RowErrors(Exception):
    """Raised while normalising one row; carries every problem found in it."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def write_report(path: Path, errors: list[RowError]) -> None:
    """The error report: one CSV line per problem, safe to open in a spreadsheet."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(REPORT_HEADER)
        for e in errors:
            cells = [e.row, safe_text(e.legacy_id), e.column, safe_text(e.value), e.message]
            writer.writerow(cells)


def default_report_path(path: Path) -> Path:
    return path.with_name(path.stem + ".errors.csv")


@dataclass(frozen=True)
class RawRow:
    row: int
    cells: dict[str, str]  # our column -> the cell, trimmed


def read_rows(
    path: Path,
    mapping: Mapping,
    *,
    known: tuple[str, ...],
    required: tuple[str, ...],
    payload_columns: bool = False,
) -> tuple[list[RawRow], list[RowError]]:
    """Every data row of the file, keyed by our column names; rows of the wrong width are
    errors. The file-level problems (unreadable, missing columns) raise InvalidInput."""
    try:
        with path.open(encoding=mapping.encoding, newline="") as f:
            reader = csv.reader(f, delimiter=mapping.delimiter)
            headers = next(reader, None)
            if headers is None:
                raise InvalidInput(f"{path} is empty: expected a header row")
            where = mapping.locate(headers, known=known, payload_columns=payload_columns)
            missing = [c for c in required if c not in where and c not in mapping.defaults]
            if missing:
                raise InvalidInput(
                    f"{path.name} has no column for {', '.join(missing)}; its headers are: "
                    f"{', '.join(h.strip() for h in headers)} (map them with --mapping)"
                )
            rows: list[RawRow] = []
            errors: list[RowError] = []
            for number, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue  # blank line
                if len(cells) != len(headers):
                    at = where.get("legacy_id")
                    legacy = cells[at].strip() if at is not None and at < len(cells) else ""
                    errors.append(
                        RowError(
                            number,
                            legacy,
                            "",
                            "",
                            f"the row has {len(cells)} fields but the header has {len(headers)}",
                        )
                    )
                    continue
                rows.append(RawRow(number, {ours: cells[i].strip() for ours, i in where.items()}))
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        encoding = "UTF-8" if mapping.encoding == "utf-8-sig" else mapping.encoding
        raise InvalidInput(
            f"{path.name} is not {encoding} text ({exc.reason}); set its encoding in a "
            'mapping, e.g. encoding = "cp1252"'
        ) from None
    except csv.Error as exc:
        raise InvalidInput(f"{path.name} is not readable CSV: {exc}") from None
    return rows, errors


# --- names ------------------------------------------------------------------------------------

PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "du",
        "la",
        "le",
        "dos",
        "das",
        "ter",
        "ten",
        "bin",
        "al",
        "y",
    }
)


def _capitalise_part(part: str) -> str:
    low = part.lower()
    if low.startswith("mc") and len(low) > 2:
        return "Mc" + low[2].upper() + low[3:]
    return low[:1].upper() + low[1:]


def _capitalise_word(word: str) -> str:
    # O'Neil, Smith-Jones: capitalise each part after an apostrophe or a hyphen
    return re.sub(r"[^\s'\u2019\-]+", lambda m: _capitalise_part(m.group(0)), word)


def tidy_name(value: str, *, surname: bool = False) -> str:
    """Trim and collapse spaces; a name written all in capitals or all in small letters gets
    sensible capitals ("MCDONALD" → "McDonald", "o'neil" → "O'Neil", "VAN DER BERG" →
    "van der Berg"). A name already in mixed case is kept as the centre wrote it."""
    text = " ".join(value.split())
    if not text or (text != text.upper() and text != text.lower()):
        return text
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        is_particle = word.lower() in PARTICLES and i < len(words) - 1 and (surname or i > 0)
        out.append(word.lower() if is_particle else _capitalise_word(word))
    return " ".join(out)


# --- customers --------------------------------------------------------------------------------

PROFILE_FIELDS = ("first_name", "last_name", "name", "date_of_birth", "street", "city", "postcode")
IDENTITY_FIELDS = ("email", "phone", "account_number")


@dataclass(frozen=True)
class CustomerRow:
    row: int
    legacy_id: str
    legacy_key: str  # the legacy identity's value, "site:id"
    first_name: str
    last_name: str
    name: str
    date_of_birth: date | None
    street: str
    city: str
    postcode: str
    email: str
    phone: str
    account_number: str
    company: str = ""  # the business account's name, if the centre records one

    def values(self) -> dict[str, str]:
        """The normalised row as JSON-ready strings (stored, and fingerprinted)."""
        out = {f: getattr(self, f) for f in (*PROFILE_FIELDS, *IDENTITY_FIELDS)}
        out["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else ""
        out["legacy_key"] = self.legacy_key
        if self.company:  # only when given: files without the column keep their fingerprints
            out["company"] = self.company
        return out

    @cached_property
    def fingerprint(self) -> str:
        raw = json.dumps(self.values(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


def parse_customer(
    raw: RawRow, *, site_code: str, date_format: str, phone_region: str, today: date
) -> CustomerRow:
    c = raw.cells
    legacy_id = c.get("legacy_id", "")
    errors: list[RowError] = []

    def fail(column: str, value: str, message: str) -> None:
        errors.append(RowError(raw.row, legacy_id, column, value, message))

    legacy_key = ""
    if not legacy_id:
        fail("legacy_id", "", "legacy_id is required (the centre's own customer number)")
    elif len(legacy_id) > 200:
        fail("legacy_id", legacy_id[:40] + "…", "legacy_id is longer than 200 characters")
    else:
        legacy_key = normalise_legacy(f"{site_code}:{legacy_id}")
    first = tidy_name(c.get("first_name", ""))
    last = tidy_name(c.get("last_name", ""), surname=True)
    if not first and not last:
        fail("last_name", "", "a name is required (first_name, last_name or both)")
    for column, value, limit in (
        ("first_name", first, 100),
        ("last_name", last, 100),
        ("street", c.get("street", ""), 200),
        ("city", c.get("city", ""), 100),
        ("company", c.get("company", ""), 200),
    ):
        if len(value) > limit:
            fail(column, value[:40] + "…", f"{column} is longer than {limit} characters")

    def normalised(column: str, fn: Any, *args: Any) -> str:
        value = c.get(column, "")
        if not value:
            return ""
        try:
            return str(fn(value, *args))
        except InvalidInput as exc:
            fail(column, value, exc.detail.replace(f"'{value}' ", "", 1))
            return ""

    email = normalised("email", normalise_email)
    phone = normalised("phone", normalise_phone, phone_region)
    account_number = normalised("account_number", normalise_account_number)
    postcode = normalise_postcode(c.get("postcode", ""))
    if len(postcode) > 16:
        fail("postcode", c.get("postcode", ""), "postcode is longer than 16 characters")
    dob: date | None = None
    dob_text = c.get("dob", "")
    if dob_text:
        try:
            if date_format == ISO_DATE:
                if not ISO_DATE_TEXT.fullmatch(dob_text):
                    raise ValueError("not YYYY-MM-DD")
                dob = date.fromisoformat(dob_text)
            else:
                dob = datetime.strptime(dob_text, date_format).date()  # noqa: DTZ007 (a date)
        except ValueError:
            fail("dob", dob_text, f"is not a date written {date_format}")
        else:
            if not OLDEST_BIRTH <= dob <= today:
                fail("dob", dob_text, f"is not a plausible date of birth (1900 to {today})")
                dob = None
    if errors:
        raise RowErrors(errors)
    return CustomerRow(
        row=raw.row,
        legacy_id=legacy_id,
        legacy_key=legacy_key,
        first_name=first,
        last_name=last,
        name=" ".join(p for p in (first, last) if p),
        date_of_birth=dob,
        street=" ".join(c.get("street", "").split()),
        city=" ".join(c.get("city", "").split()),
        postcode=postcode,
        email=email,
        phone=phone,
        account_number=account_number,
        company=" ".join(c.get("company", "").split()),
    )


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    row: int
    legacy_id: str
    legacy_key: str
    external_id: str
    kind: str
    channel: str
    occurred_at: datetime
    summary: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


def _field_types(kind: str, name: str) -> set[Any]:
    schema = PAYLOAD_SCHEMAS.get(kind)
    info = schema.model_fields.get(name) if schema else None
    if info is None:
        return set()
    return {info.annotation, *get_args(info.annotation)}


TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}


def _typed(kind: str, name: str, text: str) -> Any:
    """A flattened payload cell as the type the kind's schema expects (int, bool; else text)."""
    types = _field_types(kind, name)
    if bool in types:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise ValueError("is not yes/no (true/false)")
    if int in types:
        try:
            return int(text)
        except ValueError:
            raise ValueError("is not a whole number") from None
    return text


def _parse_when(text: str, datetime_format: str | None, zone: ZoneInfo) -> datetime:
    if datetime_format:
        when = datetime.strptime(text, datetime_format)  # noqa: DTZ007 (zone added below)
    else:
        when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def parse_event(
    raw: RawRow, *, site_code: str, mapping: Mapping, zone: ZoneInfo, site_label: str
) -> EventRow:
    c = {**mapping.defaults, **{k: v for k, v in raw.cells.items() if v}}
    legacy_id = c.get("legacy_id", "")
    errors: list[RowError] = []

    def fail(column: str, value: str, message: str) -> None:
        errors.append(RowError(raw.row, legacy_id, column, value, message))

    legacy_key = ""
    if not legacy_id:
        fail("legacy_id", "", "legacy_id is required (the centre's customer number)")
    else:
        legacy_key = normalise_legacy(f"{site_code}:{legacy_id}")
    external_id = c.get("external_id", "")
    if not external_id:
        fail("external_id", "", "external_id is required (the centre's id for this event)")
    elif len(external_id) > 200:
        fail("external_id", external_id[:40] + "…", "external_id is longer than 200 characters")
    kind = c.get("kind", "")
    allowed = sorted(set(KINDS) - SERVICE_ONLY_KINDS)
    if kind not in allowed:
        fail("kind", kind, f"is not an event kind; use one of: {', '.join(allowed)}")
    channel = c.get("channel", Channel.IN_PERSON)
    if channel not in Channel.ALL:
        fail("channel", channel, f"is not a channel; use one of: {', '.join(Channel.ALL)}")
    occurred_text = c.get("occurred_at", "")
    occurred_at = datetime.min.replace(tzinfo=zone)
    if not occurred_text:
        fail("occurred_at", "", "occurred_at is required")
    else:
        try:
            occurred_at = _parse_when(occurred_text, mapping.datetime_format, zone)
        except ValueError:
            fail(
                "occurred_at",
                occurred_text,
                f"is not a date and time written {mapping.datetime_format or 'ISO 8601'}",
            )
    summary = c.get("summary", "")
    if not summary and kind in KINDS:
        summary = f"{KINDS[kind].label} (imported from {site_label})"
    if len(summary) > 300:
        fail("summary", summary[:40] + "…", "summary is longer than 300 characters")
    payload: dict[str, Any] = {}
    if c.get("payload"):
        try:
            loaded = json.loads(c["payload"])
        except json.JSONDecodeError as exc:
            fail("payload", c["payload"][:80], f"is not JSON: {exc.msg}")
        else:
            if isinstance(loaded, dict):
                payload = loaded
            else:
                fail("payload", c["payload"][:80], "must be a JSON object {...}")
    for column, text in c.items():
        if not column.startswith(PAYLOAD_PREFIX) or not text:
            continue
        path = column[len(PAYLOAD_PREFIX) :].split(".")
        target = payload
        for part in path[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                fail(column, text, f"payload.{part} is not an object")
                break
            target = nested
        else:
            try:
                target[path[-1]] = _typed(kind, path[-1], text) if len(path) == 1 else text
            except ValueError as exc:
                fail(column, text, str(exc))
    if not errors:
        try:
            check_payload(kind, payload)
        except InvalidInput as exc:
            fail("payload", "", exc.detail)
        if len(json.dumps(payload, default=str)) > MAX_PAYLOAD_BYTES:
            fail("payload", "", f"payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    if errors:
        raise RowErrors(errors)
    return EventRow(
        row=raw.row,
        legacy_id=legacy_id,
        legacy_key=legacy_key,
        external_id=external_id,
        kind=kind,
        channel=channel,
        occurred_at=occurred_at,
        summary=summary,
        body=c.get("body", ""),
        payload=payload,
    )


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
