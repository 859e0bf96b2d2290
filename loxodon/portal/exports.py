"""'Download my data': one zip of everything we hold about the customer that they may see.

`build_export(customer)` writes the zip to a temporary file (streamed: a customer with thousands of
events never sits in memory at once), stores it through Django's default storage under a random
name, and records a `DataExport` (size, SHA-256, expiry 24 h) in one transaction; a failed
database write removes the stored file again.

What goes in is what the portal shows: the profile and the identifiers the customer gave us (not
where we learnt them), every timeline event that is not staff-only (`INTERNAL_KINDS`, internal
events), cases with each department task's progress in plain words (never internal notes or
completion notes), products, orders, surveys, and the customer's own labels, pins and nicknames.
CSV cells are formula-injection safe (`core.spreadsheet.csv_cell`, as every export).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from loxodon.cases.models import Case, CaseStatus, Task, TaskStatus
from loxodon.core.errors import DomainError
from loxodon.core.event_types import INTERNAL_KINDS, KINDS
from loxodon.core.spreadsheet import csv_cell
from loxodon.customers.models import Customer, IdentityKind
from loxodon.insights.models import SurveyInvitation
from loxodon.portal.models import DataExport, Label, Nickname, Pin, PortalLogin
from loxodon.timeline.models import Asset, Event

EXPORT_LIFETIME = timedelta(hours=24)
EXPORTS_PER_HOUR = 5  # each one reads the whole timeline: a bound, not a quota anyone meets
STORAGE_DIR = "portal-exports"
# Identifiers the customer gave us or uses; chat-visitor cookies, legacy and external system ids
# are our plumbing, not theirs.
VISIBLE_IDENTITY_KINDS = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.ACCOUNT_NUMBER)
# Kinds whose body is the words the customer wrote or received; other kinds' bodies may hold
# staff wording (call notes), so only their customer-facing summary goes out.
BODY_KINDS = frozenset({"message", "chat", "confirmation", "survey"})
ORDER_KINDS = ("order", "return", "shipment", "invoice")
CHUNK = 1000

README = """\
Your data from {org}
{rule}

Made on {made} for {name}. This download works until {expires}.

What is in this zip:
- profile.json      your name, address and the contact details you gave us
- timeline.json/csv everything that happened with you, on every channel, newest first
- cases.json/csv    your cases (requests for help) and how each piece of work is going
- products.json/csv the products you own, with warranty status and your nicknames
- orders.csv        your orders, returns, shipments and invoices
- surveys.csv       the surveys we sent you and your answers
- my_labels.json    your own labels, pinned cases and product nicknames

CSV files open in any spreadsheet. A cell that would start with =, +, -, @ or a tab starts with
an apostrophe (') instead, so that no spreadsheet runs it as a formula.

Times are in UTC (ISO 8601). Questions about your data: contact us by phone, email or chat.
"""

STATUS_WORDS = {
    CaseStatus.NEW: "Received — we will pick it up soon",
    CaseStatus.OPEN: "We're working on it",
    CaseStatus.WAITING_ON_CUSTOMER: "Waiting for you",
    CaseStatus.WAITING_ON_US: "We're working on it",
    CaseStatus.RESOLUTION_PROPOSED: "We think it's fixed — please confirm",
    CaseStatus.RESOLVED_CONFIRMED: "Resolved — you confirmed",
    CaseStatus.CLOSED_UNCONFIRMED: "Closed",
}


class TooManyExports(DomainError):
    status_code = 429


@dataclass(frozen=True)
class ExportRow:
    """One of the customer's exports, for the 'my data' page."""

    export: DataExport
    expired: bool


# --- plain values -------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def _day(value: datetime | date) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return f"{value.day} {value:%B %Y}"


def task_progress(task: Task) -> str:
    """'Parts: replacement battery — done on 3 March 2026' (never the completion note)."""
    head = f"{task.department.name}: {task.title}"
    if task.status == TaskStatus.DONE and task.completed_at is not None:
        return f"{head} — done on {_day(task.completed_at)}"
    if task.status == TaskStatus.CANCELLED:
        return f"{head} — no longer needed"
    return f"{head} — in progress"


def case_status_words(case: Case) -> str:
    words = STATUS_WORDS.get(CaseStatus(case.status), case.get_status_display())
    if case.status == CaseStatus.RESOLVED_CONFIRMED and case.resolved_at is not None:
        return f"{words} on {_day(case.resolved_at)}"
    return words


def warranty_words(asset: Asset, today: date) -> str:
    if asset.warranty_until is None:
        return "No warranty on record"
    if asset.warranty_until >= today:
        return f"Under warranty until {_day(asset.warranty_until)}"
    return f"Warranty ended on {_day(asset.warranty_until)}"


# --- what the customer may see ------------------------------------------------------------------


def visible_events(customer: Customer) -> QuerySet[Event]:
    """Every event on the customer's timeline that is not staff-only, newest first."""
    return (
        Event.objects.filter(customer=customer, internal=False)
        .exclude(kind__in=INTERNAL_KINDS)
        .order_by("-occurred_at", "-id")
    )


def _event_row(event: Event) -> dict[str, Any]:
    kind = KINDS.get(event.kind)
    return {
        "id": str(event.id),
        "occurred_at": _iso(event.occurred_at),
        "channel": event.channel.replace("_", " "),
        "kind": event.kind,
        "what": kind.label if kind else event.kind,
        "summary": event.summary,
        "text": event.body if event.kind in BODY_KINDS else "",
        "case_id": str(event.case_id) if event.case_id else "",
    }


EVENT_COLUMNS = ("id", "occurred_at", "channel", "kind", "what", "summary", "text", "case_id")


def _profile(customer: Customer) -> dict[str, Any]:
    identities = customer.identities.filter(kind__in=VISIBLE_IDENTITY_KINDS).order_by(
        "kind", "value"
    )
    login = (
        PortalLogin.objects.select_related("identity")
        .filter(customer=customer, is_active=True)
        .first()
    )
    return {
        "name": customer.name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "date_of_birth": _iso(customer.date_of_birth),
        "address": {
            "street": customer.street,
            "city": customer.city,
            "postcode": customer.postcode,
            "country": customer.country,
        },
        "contact_details": [
            {"kind": i.get_kind_display(), "value": i.value, "verified": i.verified}
            for i in identities
        ],
        "portal_sign_in": (
            {"email": login.identity.value, "password_set": bool(login.password)} if login else None
        ),
        "customer_since": _iso(customer.created_at),
    }


def _cases(customer: Customer) -> list[dict[str, Any]]:
    cases = (
        Case.objects.filter(customer=customer)
        .prefetch_related("tasks__department")
        .order_by("-created_at")
    )
    return [
        {
            "id": str(case.pk),
            "title": case.title,
            "problem": case.problem,
            "status": case_status_words(case),
            "opened_at": _iso(case.created_at),
            "resolution": case.resolution_summary,
            "resolved_at": _iso(case.resolved_at),
            "progress": [task_progress(t) for t in case.tasks.all()],
        }
        for case in cases
    ]


def _products(customer: Customer, today: date) -> list[dict[str, Any]]:
    nicknames = dict(Nickname.objects.filter(customer=customer).values_list("asset_id", "name"))
    return [
        {
            "id": str(a.pk),
            "product": a.product,
            "serial": a.serial,
            "nickname": nicknames.get(a.pk, ""),
            "purchased_on": _iso(a.purchased_at),
            "refurbished": a.refurbished,
            "operating_system": a.os,
            "warranty": warranty_words(a, today),
            "warranty_until": _iso(a.warranty_until),
        }
        for a in Asset.objects.filter(customer=customer).order_by("-purchased_at", "product")
    ]


def _order_rows(customer: Customer) -> Iterator[list[Any]]:
    for e in visible_events(customer).filter(kind__in=ORDER_KINDS).iterator(chunk_size=CHUNK):
        payload = e.payload if isinstance(e.payload, dict) else {}
        reference = payload.get("order_number") or payload.get("reference") or ""
        yield [
            _iso(e.occurred_at),
            e.kind,
            reference,
            payload.get("status", ""),
            payload.get("total", payload.get("amount", "")),
            payload.get("currency", ""),
            e.summary,
        ]


def _survey_rows(customer: Customer) -> Iterator[list[Any]]:
    invitations = (
        SurveyInvitation.objects.filter(customer=customer)
        .select_related("response_event")
        .order_by("-invited_at")
    )
    for inv in invitations:
        answer = inv.response_event.payload if inv.response_event else {}
        answer = answer if isinstance(answer, dict) else {}
        yield [
            _iso(inv.invited_at),
            inv.get_touchpoint_display(),
            inv.get_channel_display(),
            _iso(inv.used_at),
            answer.get("satisfaction", ""),
            answer.get("effort", ""),
            answer.get("intent", ""),
            answer.get("comment", ""),
        ]


def _own_organisation(customer: Customer) -> dict[str, Any]:
    return {
        "labels": [
            {"on": label.kind, "id": str(label.object_id), "label": label.name}
            for label in Label.objects.filter(customer=customer).order_by("name", "created_at")
        ],
        "pinned_cases": [
            str(case_id)
            for case_id in Pin.objects.filter(customer=customer)
            .order_by("created_at")
            .values_list("case_id", flat=True)
        ],
        "product_nicknames": [
            {"product_id": str(n.asset_id), "nickname": n.name}
            for n in Nickname.objects.filter(customer=customer).order_by("name")
        ],
    }


# --- writing ------------------------------------------------------------------------------------


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV any spreadsheet opens safely: every cell through `csv_cell`."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])


def _text_entry(zf: zipfile.ZipFile, name: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(zf.open(name, "w"), encoding="utf-8", newline="")


def _write_json(zf: zipfile.ZipFile, name: str, data: Any) -> None:
    with _text_entry(zf, name) as out:
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")


def _write_rows_csv(
    zf: zipfile.ZipFile, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    with _text_entry(zf, name) as out:
        out.write("\ufeff")  # so spreadsheets read UTF-8
        write_csv(out, header, rows)


def _write_timeline(zf: zipfile.ZipFile, customer: Customer) -> None:
    """timeline.json streamed as a JSON array, and timeline.csv, a chunk of rows at a time."""
    with _text_entry(zf, "timeline.json") as out:
        out.write("[")
        for n, event in enumerate(visible_events(customer).iterator(chunk_size=CHUNK)):
            out.write(",\n  " if n else "\n  ")
            json.dump(_event_row(event), out, ensure_ascii=False)
        out.write("\n]\n")
    rows = (
        [row[c] for c in EVENT_COLUMNS]
        for row in map(_event_row, visible_events(customer).iterator(chunk_size=CHUNK))
    )
    _write_rows_csv(zf, "timeline.csv", EVENT_COLUMNS, rows)


def write_zip(target: IO[bytes], customer: Customer, *, expires_at: datetime, org: str) -> None:
    today = timezone.localdate()
    cases = _cases(customer)
    products = _products(customer, today)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        title = f"Your data from {org}"
        zf.writestr(
            "README.txt",
            README.format(
                org=org,
                rule="=" * len(title),
                made=_iso(timezone.now()),
                name=customer.name,
                expires=_iso(expires_at),
            ),
        )
        _write_json(zf, "profile.json", _profile(customer))
        _write_timeline(zf, customer)
        _write_json(zf, "cases.json", cases)
        _write_rows_csv(
            zf,
            "cases.csv",
            ("id", "title", "status", "opened_at", "resolved_at", "resolution", "progress"),
            (
                [
                    c["id"],
                    c["title"],
                    c["status"],
                    c["opened_at"],
                    c["resolved_at"],
                    c["resolution"],
                    "; ".join(c["progress"]),
                ]
                for c in cases
            ),
        )
        _write_json(zf, "products.json", products)
        product_columns = list(products[0]) if products else ["id", "product", "serial"]
        _write_rows_csv(
            zf,
            "products.csv",
            product_columns,
            ([p[c] for c in product_columns] for p in products),
        )
        _write_rows_csv(
            zf,
            "orders.csv",
            ("occurred_at", "kind", "reference", "status", "amount", "currency", "summary"),
            _order_rows(customer),
        )
        _write_rows_csv(
            zf,
            "surveys.csv",
            (
                "invited_at",
                "about",
                "channel",
                "answered_at",
                "satisfaction_1_to_5",
                "effort_1_to_7",
                "would_buy_again",
                "comment",
            ),
            _survey_rows(customer),
        )
        _write_json(zf, "my_labels.json", _own_organisation(customer))


def build_export(customer: Customer, *, now: datetime | None = None) -> DataExport:
    """Make the customer's zip, store it under a random name, and record it (expires in 24 h)."""
    from django.conf import settings

    now = now or timezone.now()
    recent = DataExport.objects.filter(customer=customer, created_at__gt=now - timedelta(hours=1))
    if recent.count() >= EXPORTS_PER_HOUR:
        raise TooManyExports(
            f"You have made {EXPORTS_PER_HOUR} downloads in the last hour; "
            "please use one of them or try again later."
        )
    expires_at = now + EXPORT_LIFETIME
    org = str(getattr(settings, "LOXODON_ORG_NAME", "Loxodon"))
    with tempfile.TemporaryFile(prefix="loxodon-export-") as tmp:
        write_zip(tmp, customer, expires_at=expires_at, org=org)
        size = tmp.tell()
        tmp.seek(0)
        digest = hashlib.sha256()
        for block in iter(lambda: tmp.read(1 << 16), b""):
            digest.update(block)
        tmp.seek(0)
        stored = default_storage.save(f"{STORAGE_DIR}/{secrets.token_hex(16)}.zip", File(tmp))
    try:
        with transaction.atomic():
            return DataExport.objects.create(
                customer=customer,
                storage_name=stored,
                size=size,
                sha256=digest.hexdigest(),
                expires_at=expires_at,
            )
    except BaseException:
        default_storage.delete(stored)
        raise


def exports_of(customer: Customer, *, now: datetime | None = None) -> list[ExportRow]:
    """The customer's exports, newest first, with whether each has expired."""
    now = now or timezone.now()
    return [
        ExportRow(export=e, expired=e.expires_at <= now)
        for e in DataExport.objects.filter(customer=customer).order_by("-created_at")[:20]
    ]


def mark_downloaded(export: DataExport, *, now: datetime | None = None) -> None:
    DataExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
        downloaded_at=now or timezone.now(), updated_at=now or timezone.now()
    )
