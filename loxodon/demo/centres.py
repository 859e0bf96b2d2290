"""Story 4: legacy exports from independent service centres, each spelling people its own way.

`centre_exports()` writes what five centres would hand over: a customers CSV (one centre with
its own headers and day-first dates, so it needs a mapping file) and a shipments CSV keyed by
the centre's legacy ids. The same transport customer, Thomas Hargreaves of Hargreaves Haulage,
appears at every centre — with a nickname, a typo, swapped name columns, an old phone number —
next to people who must never be merged with him: his son, who shares his name, address and
the family's email address, and a namesake in another city. `TRUTH` says who is who, so tests
and the demo can count duplicates left and wrong merges.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CENTRES = ("leeds", "bradford", "york", "hull", "sheffield")

CUSTOMER_COLUMNS = (
    "legacy_id", "first_name", "last_name", "email", "phone", "dob",
    "street", "city", "postcode", "account_number", "company",
)  # fmt: skip

# Bradford's system exports its own headers and day-first dates.
BRADFORD_HEADERS = {
    "legacy_id": "CustNo",
    "first_name": "Forename",
    "last_name": "Surname",
    "email": "E-mail",
    "phone": "Tel",
    "dob": "Born",
    "street": "Address1",
    "city": "Town",
    "postcode": "PostCode",
    "account_number": "AcctRef",
    "company": "Firm",
}
BRADFORD_MAPPING = (
    "# Bradford's export: its own headers, dates written day/month/year.\n"
    'date_format = "%d/%m/%Y"\n\n[columns]\n'
    + "".join(f'{ours} = "{theirs}"\n' for ours, theirs in BRADFORD_HEADERS.items())
)


@dataclass(frozen=True)
class LegacyRecord:
    centre: str
    legacy_id: str
    person: str  # who this really is (the truth the tests count against)
    first_name: str
    last_name: str
    email: str
    phone: str
    dob: str  # ISO; Bradford's file writes it day-first
    street: str
    city: str
    postcode: str
    account_number: str = ""
    company: str = ""


HAULAGE = "Hargreaves Haulage Ltd"
THOMAS, SON, NAMESAKE = "thomas-hargreaves", "tom-hargreaves-junior", "thomas-hargreaves-york"

RECORDS: tuple[LegacyRecord, ...] = (
    # The transport customer, spelled five ways.
    LegacyRecord("leeds", "L-1001", THOMAS, "Thomas", "Hargreaves",
                 "thomas@hargreaves-haulage.example", "0113 496 0101", "1971-04-12",
                 "14 Canal Wharf", "Leeds", "LS1 4AB", "HH-4471", HAULAGE),
    LegacyRecord("bradford", "B77", THOMAS, "Thomas", "Hargreaves",
                 "thomas@hargreaves-haulage.example", "+44 113 496 0101", "1971-04-12",
                 "14 Canal Wharf", "Leeds", "LS14AB", "BD-20931", HAULAGE),
    LegacyRecord("york", "Y-0042", THOMAS, "Thomas", "Hargreave",
                 "thomas@hargreaves-haulage.example", "01134960101", "1971-04-12",
                 "14 Canal Warf", "Leeds", "LS1 4AB", "", "Hargreaves Haulage LTD"),
    LegacyRecord("hull", "H/3310", THOMAS, "Hargreaves", "Thomas",
                 "thomas@hargreaves-haulage.example", "0113 496 0101", "1971-04-12",
                 "14 Canal Wharf", "Leeds", "LS1 4AB", "HU-778", HAULAGE.upper()),
    LegacyRecord("sheffield", "S-9001", THOMAS, "Thomas", "Hargreaves",
                 "thomas@hargreaves-haulage.example", "0113 496 0199", "1971-04-12",
                 "14 Canal Wharf", "Leeds", "LS1 4AB", "", HAULAGE),
    # His son: same name, same address, the family's email — a different person.
    LegacyRecord("leeds", "L-1002", SON, "Thomas", "Hargreaves",
                 "thomas@hargreaves-haulage.example", "07700 900411", "1998-09-30",
                 "14 Canal Wharf", "Leeds", "LS1 4AB", ""),
    # A namesake in York, nothing else in common.
    LegacyRecord("york", "Y-0077", NAMESAKE, "Thomas", "Hargreaves",
                 "t.hargreaves@mailbox.example", "01904 496 555", "1964-02-03",
                 "3 Minster Yard", "York", "YO1 7HH", ""),
    # Other customers of the centres, some of them at two centres.
    LegacyRecord("leeds", "L-1003", "amira-shah", "Amira", "Shah",
                 "amira.shah@example.net", "0113 496 0230", "1985-11-02",
                 "22 Park Row", "Leeds", "LS1 5JL", ""),
    LegacyRecord("bradford", "B78", "amira-shah", "Amira", "Shah",
                 "amira.shah@example.net", "0113 496 0230", "1985-11-02",
                 "22 Park Row", "Leeds", "LS1 5JL", ""),
    LegacyRecord("hull", "H/3311", "owen-pritchard", "Owen", "Pritchard",
                 "owen@pritchard-freight.example", "01482 496 771", "1979-06-21",
                 "5 Humber Dock Street", "Hull", "HU1 1TA", "", "Pritchard Freight"),
    LegacyRecord("sheffield", "S-9002", "grace-oduya", "Grace", "Oduya",
                 "grace.oduya@example.org", "0114 496 0872", "1990-01-15",
                 "8 Division Street", "Sheffield", "S1 4GF", ""),
    LegacyRecord("york", "Y-0078", "grace-oduya", "Grace", "Oduya",
                 "grace.oduya@example.org", "0114 496 0872", "1990-01-15",
                 "8 Division Street", "Sheffield", "S1 4GF", ""),
)  # fmt: skip

TRUTH: dict[tuple[str, str], str] = {(r.centre, r.legacy_id): r.person for r in RECORDS}

SHIPMENT_COLUMNS = (
    "legacy_id", "external_id", "kind", "channel", "occurred_at", "summary",
    "payload.carrier", "payload.status", "payload.tracking_number",
)  # fmt: skip
CARRIER = "Loxodon Freight"

# Shipments each centre recorded for its own legacy ids.
SHIPMENTS: tuple[tuple[str, str, str, str, str], ...] = (
    # centre, legacy id, tracking number, status, when
    ("leeds", "L-1001", "HH-LDS-0001", "delivered", "2025-03-04T09:30:00+00:00"),
    ("bradford", "B77", "HH-BFD-0002", "delivered", "2025-05-19T14:10:00+00:00"),
    ("york", "Y-0042", "HH-YRK-0003", "in_transit", "2025-08-02T08:00:00+00:00"),
    ("hull", "H/3310", "HH-HUL-0004", "delivered", "2025-10-11T11:45:00+00:00"),
    ("sheffield", "S-9001", "HH-SHF-0005", "exception", "2026-01-20T16:20:00+00:00"),
    ("leeds", "L-1002", "TJ-LDS-0100", "delivered", "2025-07-07T10:00:00+00:00"),
    ("york", "Y-0077", "TH-YRK-0200", "delivered", "2025-09-09T12:00:00+00:00"),
)


def _customers_csv(centre: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    bradford = centre == "bradford"
    writer.writerow(BRADFORD_HEADERS[c] if bradford else c for c in CUSTOMER_COLUMNS)
    for r in RECORDS:
        if r.centre != centre:
            continue
        dob = r.dob
        if bradford and dob:
            year, month, day = dob.split("-")
            dob = f"{day}/{month}/{year}"
        row = (r.legacy_id, r.first_name, r.last_name, r.email, r.phone, dob, r.street, r.city)
        writer.writerow((*row, r.postcode, r.account_number, r.company))
    return out.getvalue()


def _shipments_csv(centre: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHIPMENT_COLUMNS)
    for c, legacy_id, tracking, status, when in SHIPMENTS:
        if c != centre:
            continue
        summary = f"Shipment {tracking} ({status.replace('_', ' ')})"
        key = f"shipment-{tracking}"
        writer.writerow(
            (legacy_id, key, "shipment", "in_person", when, summary, CARRIER, status, tracking)
        )
    return out.getvalue()


@dataclass(frozen=True)
class CentreExport:
    centre: str
    customers: Path
    shipments: Path
    mapping: Path | None


def centre_exports(folder: Path) -> list[CentreExport]:
    """Write every centre's files into `folder`; returns them in import order."""
    folder.mkdir(parents=True, exist_ok=True)
    exports = []
    for centre in CENTRES:
        customers = folder / f"{centre}-customers.csv"
        customers.write_text(_customers_csv(centre), encoding="utf-8")
        shipments = folder / f"{centre}-shipments.csv"
        shipments.write_text(_shipments_csv(centre), encoding="utf-8")
        mapping = None
        if centre == "bradford":
            mapping = folder / "bradford-mapping.toml"
            mapping.write_text(BRADFORD_MAPPING, encoding="utf-8")
        exports.append(CentreExport(centre, customers, shipments, mapping))
    return exports


def seed_centres(folder: Path) -> dict[str, int]:
    """The demo's story 4: import every centre's export as a centre would, then link.

    Goes through the same services as `loxodon import_customers` / `import_events` and
    `loxodon link_customers`; the unsure pairs wait in the desk's review queue.
    """
    from loxodon.channels.imports.mapping import load_mapping
    from loxodon.channels.imports.services import import_customers, import_events
    from loxodon.customers.models import Account
    from loxodon.customers.resolution.linkage import run_linkage
    from loxodon.org.models import Site

    # The business behind the story: what every centre's agent should know about it.
    Account.objects.get_or_create(
        name=HAULAGE,
        defaults={
            "industry": "Road haulage",
            "size": Account.Size.MEDIUM,
            "notes": "Ships through most Yorkshire centres; pallets and full loads, often urgent.",
            "key_contacts": [
                {
                    "name": "Thomas Hargreaves",
                    "role": "Managing director",
                    "email": "thomas@hargreaves-haulage.example",
                    "phone": "0113 496 0101",
                }
            ],
        },
    )
    imported = shipments = 0
    for export in centre_exports(folder):
        site = Site.objects.get(code=export.centre)
        customers = import_customers(
            path=export.customers, site=site, mapping=load_mapping(export.mapping)
        )
        events = import_events(
            path=export.shipments, site=site, mapping=load_mapping(None, for_events=True)
        )
        if customers.errors or events.errors:
            raise RuntimeError(f"{export.centre}: {customers.errors or events.errors}")
        imported += customers.created
        shipments += events.created
    outcome = run_linkage()
    return {
        "imported": imported,
        "shipments": shipments,
        "merged": len(outcome.merges),
        "queued": outcome.reviews,
    }


def thomas_in_database() -> Any:
    """Story 4's Thomas Hargreaves after linkage (whichever record survived), or None."""
    from loxodon.customers.models import Identity

    found = Identity.objects.filter(kind="legacy", value="leeds:L-1001").first()
    return found.customer if found else None
