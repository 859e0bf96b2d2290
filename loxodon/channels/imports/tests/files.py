"""Test helpers: write a centre's CSV, run a command, fingerprint the tables."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.management import call_command

from loxodon.channels.imports.models import ImportedRecord
from loxodon.customers.models import Customer, Identity
from loxodon.timeline.models import Event

HEADER = (
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
)


def write_csv(
    path: Path,
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = HEADER,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(command: str, *args: Any) -> tuple[str, str]:
    """call_command with captured output: (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def tables_checksum() -> tuple[tuple[int, int, int, int], str]:
    """Row counts and a digest of every customer, identity, event and import record."""
    digest = hashlib.sha256()
    tables: list[list[Any]] = [
        list(Customer.objects.order_by("id").values_list()),
        list(Identity.objects.order_by("id").values_list()),
        list(Event.objects.order_by("id").values_list()),
        list(ImportedRecord.objects.order_by("id").values_list()),
    ]
    for rows in tables:
        for row in rows:
            digest.update(repr(row).encode())
    counts = (len(tables[0]), len(tables[1]), len(tables[2]), len(tables[3]))
    return counts, digest.hexdigest()
