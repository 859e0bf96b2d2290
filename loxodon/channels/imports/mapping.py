"""How a centre's CSV export maps onto our columns: the optional `--mapping map.toml`.

```toml
encoding = "cp1252"          # default utf-8 (a byte-order mark is ignored)
delimiter = ";"              # default ","
date_format = "%d/%m/%Y"     # customers: dates of birth (default %Y-%m-%d)
phone_region = "DE"          # customers: numbers without +country (default: the site's country)
datetime_format = "%d.%m.%Y %H:%M"  # events: occurred_at (default ISO 8601)

[columns]                    # our column = the centre's header
legacy_id = "KundenNr"
first_name = "Vorname"
"payload.carrier" = "Spediteur"     # events: a payload field from its own column

[defaults]                   # events: a value for rows whose cell is empty or missing
kind = "shipment"
```

Anything we do not know is refused before a row is read, so that a typo in a mapping never
imports a column into the wrong field.
"""

from __future__ import annotations

import codecs
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from loxodon.core.errors import InvalidInput

CUSTOMER_COLUMNS = (
    "legacy_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "dob",
    "street",
    "city",
    "postcode",
    "account_number",
    "company",  # optional: the business the customer belongs to (an Account, by name)
)
EVENT_COLUMNS = (
    "legacy_id",
    "external_id",
    "kind",
    "channel",
    "occurred_at",
    "summary",
    "body",
    "payload",
)
PAYLOAD_PREFIX = "payload."

_COMMON_OPTIONS = {"encoding", "delimiter", "columns"}
CUSTOMER_OPTIONS = _COMMON_OPTIONS | {"date_format", "phone_region"}
EVENT_OPTIONS = _COMMON_OPTIONS | {"datetime_format", "defaults"}


@dataclass(frozen=True)
class Mapping:
    """Where each of our columns is in the file, and how its values are written."""

    columns: dict[str, str] = field(default_factory=dict)  # our column -> the centre's header
    defaults: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    date_format: str = "%Y-%m-%d"
    datetime_format: str | None = None  # None: ISO 8601
    phone_region: str | None = None

    def locate(
        self, headers: Sequence[str], *, known: Sequence[str], payload_columns: bool = False
    ) -> dict[str, int]:
        """Our column -> its index in `headers`. A mapped header missing from the file is an
        error; unmapped columns are found under their own name (any case)."""
        stripped = [h.strip() for h in headers]
        seen: set[str] = set()
        for h in stripped:
            if h and h in seen:
                raise InvalidInput(f"the file has two columns headed '{h}'")
            seen.add(h)
        found: dict[str, int] = {}
        for ours, theirs in self.columns.items():
            if theirs not in stripped:
                raise InvalidInput(
                    f"the mapping puts column '{ours}' under the header '{theirs}', but the "
                    f"file has no such header; its headers are: {', '.join(stripped)}"
                )
            found[ours] = stripped.index(theirs)
        mapped_headers = set(self.columns.values())
        lowered = [h.lower() for h in stripped]
        for ours in known:
            if (
                ours not in found
                and ours in lowered
                and stripped[lowered.index(ours)] not in (mapped_headers)
            ):
                found[ours] = lowered.index(ours)
        if payload_columns:
            for i, h in enumerate(stripped):
                if h.lower().startswith(PAYLOAD_PREFIX) and h not in mapped_headers:
                    name = PAYLOAD_PREFIX + h[len(PAYLOAD_PREFIX) :]
                    found.setdefault(name, i)
        return found


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"mapping: '{key}' must be a non-empty string")
    return value


def _check_date_format(key: str, value: str) -> str:
    if "%" not in value:
        raise InvalidInput(f"mapping: '{key}' = '{value}' has no % directive (e.g. \"%d/%m/%Y\")")
    return value


def load_mapping(path: Path | None, *, for_events: bool = False) -> Mapping:
    """Read and check a mapping file (None: the default columns and formats)."""
    if path is None:
        return Mapping()
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as exc:
        raise InvalidInput(f"cannot read mapping {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"mapping {path} is not valid TOML: {exc}") from None
    allowed = EVENT_OPTIONS if for_events else CUSTOMER_OPTIONS
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidInput(
            f"mapping: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    known = EVENT_COLUMNS if for_events else CUSTOMER_COLUMNS

    def is_column(name: str) -> bool:
        return name in known or (
            for_events and name.startswith(PAYLOAD_PREFIX) and len(name) > len(PAYLOAD_PREFIX)
        )

    columns = raw.get("columns", {})
    if not isinstance(columns, dict):
        raise InvalidInput('mapping: [columns] must be a table of our column = "their header"')
    for ours, theirs in columns.items():
        if not is_column(ours):
            extra = " or payload.<field>" if for_events else ""
            raise InvalidInput(
                f"mapping: unknown column '{ours}' in [columns]; use one of: "
                f"{', '.join(known)}{extra}"
            )
        _text(f"columns.{ours}", theirs)
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InvalidInput('mapping: [defaults] must be a table of column = "value"')
    for ours, value in defaults.items():
        if not is_column(ours) or ours in ("legacy_id", "external_id", "occurred_at"):
            raise InvalidInput(f"mapping: column '{ours}' cannot have a default")
        _text(f"defaults.{ours}", value)

    options: dict[str, Any] = {}
    if "encoding" in raw:
        encoding = _text("encoding", raw["encoding"])
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidInput(f"mapping: unknown encoding '{encoding}'") from None
        options["encoding"] = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
    if "delimiter" in raw:
        delimiter = _text("delimiter", raw["delimiter"])
        if len(delimiter) != 1:
            raise InvalidInput(f"mapping: delimiter must be one character, not '{delimiter}'")
        options["delimiter"] = delimiter
    if "date_format" in raw:
        options["date_format"] = _check_date_format(
            "date_format", _text("date_format", raw["date_format"])
        )
    if "datetime_format" in raw:
        options["datetime_format"] = _check_date_format(
            "datetime_format", _text("datetime_format", raw["datetime_format"])
        )
    if "phone_region" in raw:
        region = _text("phone_region", raw["phone_region"]).upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidInput(
                f"mapping: phone_region '{raw['phone_region']}' is not a country code "
                "phone numbers know (ISO 3166 alpha-2, e.g. DE)"
            )
        options["phone_region"] = region
    return Mapping(columns=dict(columns), defaults=dict(defaults), **options)
