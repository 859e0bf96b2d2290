"""`loxodon import_events`: a centre's events on the customers holding its legacy ids."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from loxodon.channels.imports import services
from loxodon.channels.imports.tests.files import read_report, run, tables_checksum
from loxodon.customers.models import Customer, Identity
from loxodon.customers.services import merge_customers
from loxodon.insights.models import SurveyInvitation
from loxodon.org.models import Site
from loxodon.timeline.models import Asset, Event

pytestmark = pytest.mark.django_db

CUSTOMERS = [
    ("C-1", "Priya", "Sharma", "priya@example.com"),
    ("C-2", "Daniel", "Okafor", "daniel@example.com"),
]
EVENT_HEADER = (
    "legacy_id",
    "external_id",
    "kind",
    "channel",
    "occurred_at",
    "summary",
    "payload.carrier",
    "payload.status",
    "payload.tracking_number",
)
SHIPMENTS = [
    ("C-1", "SHP-1", "shipment", "", "2025-06-03T09:15:00", "Parcel collected", "DPD",
     "collected", "155012"),
    ("C-1", "SHP-2", "shipment", "letter", "2025-06-05 16:40", "", "DPD", "delivered", "155012"),
    ("C-2", "SHP-3", "shipment", "in_person", "2025-09-21T11:00:00+02:00", "Sent", "Royal Mail",
     "in_transit", ""),
]  # fmt: skip


@pytest.fixture
def customers(site: Site, centre_file: Callable[..., Path]) -> dict[str, Customer]:
    run("import_customers", centre_file(CUSTOMERS, name="customers.csv",
        header=("legacy_id", "first_name", "last_name", "email")), "--site", "lon")  # fmt: skip
    return {
        legacy: Identity.objects.get(kind="legacy", value=f"lon:{legacy}").customer
        for legacy, *_ in CUSTOMERS
    }


def shipments_file(centre_file: Callable[..., Path], rows: Sequence[Sequence[str]]) -> Path:
    return centre_file(rows, name="shipments.csv", header=EVENT_HEADER)


def test_shipments_land_on_the_legacy_customers_timeline_with_typed_payloads(
    customers: dict[str, Customer], centre_file: Callable[..., Path], site: Site
) -> None:
    out, _ = run("import_events", shipments_file(centre_file, SHIPMENTS), "--site", "lon")

    assert "created 3, updated 0, unchanged 0, invalid 0" in out
    collected, delivered = Event.objects.filter(customer=customers["C-1"]).order_by("occurred_at")
    assert (collected.kind, collected.channel, collected.summary) == (
        "shipment", "in_person", "Parcel collected",
    )  # fmt: skip
    # naive times are the site's local time (London, summer: UTC+1)
    assert collected.occurred_at == datetime(2025, 6, 3, 8, 15, tzinfo=UTC)
    assert collected.payload == {
        "carrier": "DPD",
        "status": "collected",
        "tracking_number": "155012",
    }
    assert (collected.source, collected.external_id, collected.site) == (
        "import:lon",
        "SHP-1",
        site,
    )
    assert delivered.channel == "letter" and delivered.summary == "Shipment (imported from London)"
    (sent,) = Event.objects.filter(customer=customers["C-2"])
    assert sent.occurred_at == datetime(2025, 9, 21, 9, 0, tzinfo=UTC)
    assert "tracking_number" not in sent.payload  # an empty cell is no field


def test_rerunning_writes_nothing_and_other_content_under_a_used_key_is_a_row_error(
    customers: dict[str, Customer], centre_file: Callable[..., Path]
) -> None:
    path = shipments_file(centre_file, SHIPMENTS)
    run("import_events", path, "--site", "lon")
    before = tables_checksum()

    out, _ = run("import_events", path, "--site", "lon")

    assert "created 0, updated 0, unchanged 3, invalid 0" in out
    assert tables_checksum() == before

    changed = [*SHIPMENTS[:2], (*SHIPMENTS[2][:7], "delivered", "")]
    with pytest.raises(CommandError, match="1 invalid rows"):
        run("import_events", shipments_file(centre_file, changed), "--site", "lon")
    (error,) = read_report(path.with_name("shipments.errors.csv"))
    assert (error["row"], error["column"], error["value"]) == ("4", "external_id", "SHP-3")
    assert error["message"].startswith("this external id was already imported with other content")
    assert tables_checksum() == before


def test_a_rerun_after_linkage_merged_the_customers_still_changes_nothing(
    customers: dict[str, Customer], centre_file: Callable[..., Path]
) -> None:
    path = shipments_file(centre_file, SHIPMENTS)
    run("import_events", path, "--site", "lon")
    merge_customers(
        survivor=customers["C-2"], absorbed=customers["C-1"], by=None, reason="same person"
    )
    assert Event.objects.filter(customer=customers["C-2"], kind="shipment").count() == 3
    before = tables_checksum()

    out, _ = run("import_events", path, "--site", "lon")
    customers_out, _ = run("import_customers", path.with_name("customers.csv"), "--site", "lon")

    assert "created 0, updated 0, unchanged 3, invalid 0" in out
    assert "created 0, updated 0, unchanged 2, invalid 0" in customers_out
    assert tables_checksum() == before


def test_bad_event_rows_are_reported_and_nothing_is_written(
    customers: dict[str, Customer], centre_file: Callable[..., Path]
) -> None:
    rows = [
        SHIPMENTS[0],
        ("C-404", "SHP-4", "shipment", "", "2025-06-03T09:15:00", "", "DPD", "collected", ""),
        ("C-1", "SHP-5", "shipment", "", "2025-06-03T09:15:00", "", "DPD", "lost", ""),
        ("C-1", "SHP-6", "shipment", "", "3 June", "", "DPD", "collected", ""),
        ("C-1", "SHP-7", "status_change", "", "2025-06-03T09:15:00", "Closed", "", "", ""),
        ("C-1", "SHP-8", "shipment", "pigeon", "2025-06-03T09:15:00", "", "DPD", "collected", ""),
        ("C-1", "SHP-1", "shipment", "", "2025-06-03T09:15:00", "Other", "DPD", "collected", ""),
    ]

    with pytest.raises(CommandError, match=r"6 invalid rows in shipments\.csv"):
        run("import_events", shipments_file(centre_file, rows), "--site", "lon")

    report = read_report(centre_file([], name="x.csv").with_name("shipments.errors.csv"))
    assert [(r["row"], r["legacy_id"], r["column"], r["value"]) for r in report] == [
        ("3", "C-404", "legacy_id", "C-404"),
        ("4", "C-1", "payload", ""),
        ("5", "C-1", "occurred_at", "3 June"),
        ("6", "C-1", "kind", "status_change"),
        ("7", "C-1", "channel", "pigeon"),
        ("8", "C-1", "external_id", "SHP-1"),
    ]
    assert report[0]["message"].startswith("no customer has the legacy id 'lon:C-404'")
    assert "payload.status" in report[1]["message"]
    assert report[5]["message"] == "the same external id is on row 2 with other content"
    assert not Event.objects.filter(source="import:lon").exists()


def test_skip_invalid_imports_the_good_events(
    customers: dict[str, Customer], centre_file: Callable[..., Path]
) -> None:
    rows = [
        *SHIPMENTS,
        ("C-404", "SHP-4", "shipment", "", "2025-06-03T09:15:00", "", "DPD", "collected", ""),
    ]
    out, err = run(
        "import_events", shipments_file(centre_file, rows), "--site", "lon", "--skip-invalid"
    )
    assert "created 3, updated 0, unchanged 0, invalid 1" in out
    assert "warning: 1 invalid rows were skipped" in err


def test_orders_with_a_json_payload_are_history_and_never_survey_anyone(
    customers: dict[str, Customer], centre_file: Callable[..., Path], tmp_path: Path
) -> None:
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    order = {
        "order_number": "ORD-9",
        "status": "paid",
        "lines": [{"product": "Espresso machine", "serial": "EM-1", "quantity": 1}],
    }
    path = centre_file(
        [("C-1", "ORD-9", yesterday, json.dumps(order))],
        name="orders.csv",
        header=("Kunde", "Beleg", "Datum", "Daten"),
    )
    mapping = tmp_path / "orders.toml"
    mapping.write_text(
        '[columns]\nlegacy_id = "Kunde"\nexternal_id = "Beleg"\noccurred_at = "Datum"\n'
        'payload = "Daten"\n[defaults]\nkind = "order"\nchannel = "in_person"\n'
    )
    tasks_before = DBTaskResult.objects.count()

    out, _ = run("import_events", path, "--site", "lon", "--mapping", mapping)

    assert "created 1" in out
    (event,) = Event.objects.filter(kind="order")
    assert event.customer == customers["C-1"] and event.payload == order
    assert Asset.objects.get(serial="EM-1").customer == customers["C-1"]
    # a recent order from an import is history: no sales survey, not even a queued job
    assert not SurveyInvitation.objects.exists()
    assert DBTaskResult.objects.count() == tasks_before


def test_an_events_mapping_with_unknown_defaults_is_refused(
    customers: dict[str, Customer], centre_file: Callable[..., Path], tmp_path: Path
) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[defaults]\noccurred_at = "2025-01-01"\n')
    with pytest.raises(CommandError, match="column 'occurred_at' cannot have a default"):
        run("import_events", shipments_file(centre_file, SHIPMENTS), "--site", "lon",
            "--mapping", mapping)  # fmt: skip


def test_event_batches_are_all_or_nothing_and_a_rerun_completes_them(
    customers: dict[str, Customer],
    centre_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = shipments_file(centre_file, SHIPMENTS)
    real_write = services._write_event_batch
    calls = []

    def crash_in_second_batch(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(services, "_write_event_batch", crash_in_second_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        run("import_events", path, "--site", "lon", "--batch-size", "2")
    assert sorted(
        Event.objects.filter(source="import:lon").values_list("external_id", flat=True)
    ) == [
        "SHP-1",
        "SHP-2",
    ]
    monkeypatch.undo()

    dry, _ = run("import_events", path, "--site", "lon", "--dry-run")
    assert "created 1, updated 0, unchanged 2, invalid 0" in dry
    assert Event.objects.filter(source="import:lon").count() == 2

    out, _ = run("import_events", path, "--site", "lon", "--batch-size", "2")
    assert "created 1, updated 0, unchanged 2, invalid 0" in out
    assert Event.objects.filter(source="import:lon").count() == 3


def test_an_events_mapping_names_payload_columns_and_a_date_format(
    customers: dict[str, Customer], centre_file: Callable[..., Path], tmp_path: Path
) -> None:
    path = centre_file(
        [("C-2", "V-1", "03.06.2025 09:15", "DHL", "zugestellt", "delivered", "2")],
        name="sendungen.csv",
        header=("Kunde", "Sendung", "Datum", "Spediteur", "Notiz", "Status", "Pakete"),
    )
    mapping = tmp_path / "sendungen.toml"
    mapping.write_text(
        'datetime_format = "%d.%m.%Y %H:%M"\n'
        "[columns]\n"
        'legacy_id = "Kunde"\nexternal_id = "Sendung"\noccurred_at = "Datum"\n'
        '"payload.carrier" = "Spediteur"\n"payload.status" = "Status"\n'
        '"payload.parcels" = "Pakete"\nbody = "Notiz"\n'
        '[defaults]\nkind = "shipment"\nchannel = "letter"\n'
    )

    out, _ = run("import_events", path, "--site", "lon", "--mapping", mapping)

    assert "created 1" in out
    (event,) = Event.objects.filter(source="import:lon")
    assert event.customer == customers["C-2"]
    assert (event.kind, event.channel, event.body) == ("shipment", "letter", "zugestellt")
    assert event.occurred_at == datetime(2025, 6, 3, 8, 15, tzinfo=UTC)  # London summer time
    # fields the schema does not know are kept as delivered (text)
    assert event.payload == {"carrier": "DHL", "status": "delivered", "parcels": "2"}


def test_flattened_payload_cells_take_the_type_the_kind_expects(
    customers: dict[str, Customer], centre_file: Callable[..., Path]
) -> None:
    header = ("legacy_id", "external_id", "kind", "occurred_at", "payload.product",
              "payload.serial", "payload.warranty_until", "payload.refurbished")  # fmt: skip
    good = ("C-1", "W-1", "warranty", "2024-01-10T10:00:00Z", "Kettle", "K-1", "2026-01-10", "yes")
    bad = (
        "C-1",
        "W-2",
        "warranty",
        "2024-01-10T10:00:00Z",
        "Kettle",
        "K-2",
        "2026-01-10",
        "perhaps",
    )
    path = centre_file([good, bad], name="warranties.csv", header=header)

    out, _ = run("import_events", path, "--site", "lon", "--skip-invalid")

    assert "created 1, updated 0, unchanged 0, invalid 1" in out
    (event,) = Event.objects.filter(kind="warranty")
    assert event.payload["refurbished"] is True
    assert Asset.objects.get(serial="K-1").refurbished is True
    (error,) = read_report(path.with_name("warranties.errors.csv"))
    assert (error["row"], error["column"], error["value"], error["message"]) == (
        "3", "payload.refurbished", "perhaps", "is not yes/no (true/false)",
    )  # fmt: skip
