"""Imports from the centres' legacy systems: customers, then their events.

- `import_customers` — one customer per centre record, known by the verified legacy identity
  `site:id` plus unverified email, phone and account number; never merged with anyone here
  (`loxodon link_customers` does that). The same record imported again is "unchanged"; a changed
  record updates the fields the centre changed and adds new identifiers.
- `import_events` — the centre's events (shipments, orders, visits...) on the customer who holds
  the legacy identity (identities follow merges), through the timeline's idempotent ingest.

Every row is checked before anything is written; by default one invalid row means nothing is
written. Writes go in batches, each one transaction: a crash leaves whole batches, and a re-run
completes the rest (rows already written are "unchanged").
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from uuid6 import uuid7

from loxodon.channels.imports.inserts import insert_rows
from loxodon.channels.imports.mapping import CUSTOMER_COLUMNS, EVENT_COLUMNS, Mapping
from loxodon.channels.imports.models import ImportedRecord
from loxodon.channels.imports.parsing import (
    IDENTITY_FIELDS,
    PROFILE_FIELDS,
    CustomerRow,
    EventRow,
    RawRow,
    RowError,
    RowErrors,
    chunks,
    parse_customer,
    parse_event,
    read_rows,
)
from loxodon.core.errors import Conflict, DomainError
from loxodon.customers.models import Account, Customer, Identity, IdentityKind
from loxodon.org.models import Site
from loxodon.timeline.models import Event
from loxodon.timeline.services import EventDraft, ingest_events

LOOKUP_CHUNK = 500
CHECK_EVERY = 1000  # rows between progress updates while checking


class Progress(Protocol):
    """What the importers report while they work (the CLI draws it as a progress bar)."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Quiet:
    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass


@dataclass
class ImportOutcome:
    """What an import did (or, for a dry run or a refused file, would do)."""

    rows: int
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    seconds: float = 0.0

    @property
    def invalid(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def import_source(site: Site) -> str:
    return f"import:{site.code}"


def _sorted_errors(errors: list[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: (e.row, e.column))


def _legacy_holders(keys: Iterable[str]) -> dict[str, uuid.UUID]:
    """legacy key -> the customer who holds that identity now (a verified holder first)."""
    holders: dict[str, tuple[uuid.UUID, bool]] = {}
    for chunk in chunks(list(keys), LOOKUP_CHUNK):
        rows = Identity.objects.filter(kind=IdentityKind.LEGACY, value__in=chunk).values_list(
            "value", "customer_id", "verified"
        )
        for value, customer_id, verified in rows:
            if value not in holders or (verified and not holders[value][1]):
                holders[value] = (customer_id, verified)
    return {value: customer_id for value, (customer_id, _) in holders.items()}


# --- customers --------------------------------------------------------------------------------


def import_customers(
    *,
    path: Path,
    site: Site,
    mapping: Mapping,
    batch_size: int = 500,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Check every row of a centre's customer export, then write it in batches."""
    progress = progress or _Quiet()
    began = time.monotonic()
    raws, errors = read_rows(path, mapping, known=CUSTOMER_COLUMNS, required=("legacy_id",))
    outcome = ImportOutcome(rows=len(raws) + len({e.row for e in errors}))
    rows = _check_customers(raws, errors, site=site, mapping=mapping, progress=progress)
    del raws  # the cells as read are not needed any more: keep the peak memory down
    outcome.errors = _sorted_errors(errors)
    if errors and not skip_invalid:
        outcome.seconds = time.monotonic() - began
        return outcome
    progress.start("Dry run" if dry_run else "Importing", len(rows))
    now = timezone.now()
    for batch in chunks(rows, max(1, batch_size)):
        created, updated, unchanged = _write_customer_batch(
            batch, site=site, now=now, dry_run=dry_run
        )
        outcome.created += created
        outcome.updated += updated
        outcome.unchanged += unchanged
        progress.advance(len(batch))
    outcome.written = not dry_run
    outcome.seconds = time.monotonic() - began
    return outcome


def _check_customers(
    raws: list[RawRow],
    errors: list[RowError],
    *,
    site: Site,
    mapping: Mapping,
    progress: Progress,
) -> list[CustomerRow]:
    progress.start("Checking", len(raws))
    region = mapping.phone_region or site.country or settings.LOXODON_DEFAULT_PHONE_REGION
    today = timezone.localdate()
    rows: list[CustomerRow] = []
    for n, raw in enumerate(raws, start=1):
        try:
            rows.append(
                parse_customer(
                    raw,
                    site_code=site.code,
                    date_format=mapping.date_format,
                    phone_region=region,
                    today=today,
                )
            )
        except RowErrors as exc:
            errors.extend(exc.errors)
        if n % CHECK_EVERY == 0:
            progress.advance(CHECK_EVERY)
    progress.advance(len(raws) % CHECK_EVERY)
    # One legacy id twice in a file (valid rows or not): we cannot know which row is right, so
    # none of them is imported.
    rows_of: dict[str, list[RawRow]] = {}
    for raw in raws:
        if legacy_id := raw.cells.get("legacy_id", ""):
            rows_of.setdefault(legacy_id, []).append(raw)
    duplicated = {legacy_id for legacy_id, found in rows_of.items() if len(found) > 1}
    for legacy_id in duplicated:
        numbers = [raw.row for raw in rows_of[legacy_id]]
        for n in numbers:
            others = ", ".join(str(other) for other in numbers if other != n)
            errors.append(
                RowError(
                    n,
                    legacy_id,
                    "legacy_id",
                    legacy_id,
                    f"the same legacy id is also on row {others}",
                )
            )
    return [r for r in rows if r.legacy_id not in duplicated]


def _identities_of(row: CustomerRow) -> list[tuple[str, str]]:
    return [(kind, getattr(row, kind)) for kind in IDENTITY_FIELDS if getattr(row, kind)]


def _profile_value(customer: Customer, name: str) -> str:
    value = getattr(customer, name)
    if value is None:
        return ""
    return value.isoformat() if name == "date_of_birth" else str(value)


def _write_customer_batch(
    batch: list[CustomerRow], *, site: Site, now: datetime, dry_run: bool
) -> tuple[int, int, int]:
    """Create, update or skip one batch of rows in one transaction: (created, updated,
    unchanged)."""
    source = import_source(site)
    try:
        with transaction.atomic():
            keys = [r.legacy_key for r in batch]
            holders = _legacy_holders(keys)
            imported = dict(
                ImportedRecord.objects.filter(legacy_key__in=keys).values_list(
                    "legacy_key", "fingerprint"
                )
            )
            new = [r for r in batch if r.legacy_key not in holders]
            changed = [
                r
                for r in batch
                if r.legacy_key in holders and imported.get(r.legacy_key) != r.fingerprint
            ]
            unchanged = len(batch) - len(new) - len(changed)
            if dry_run:
                return len(new), len(changed), unchanged
            accounts = _accounts_named({r.company for r in (*new, *changed) if r.company})
            _create_customers(
                new, site=site, source=source, now=now, stale=set(imported), accounts=accounts
            )
            updated, same = _update_customers(
                changed, holders, site=site, source=source, now=now, accounts=accounts
            )
            return len(new), updated, unchanged + same
    except IntegrityError:
        raise Conflict(
            f"rows {batch[0].row} to {batch[-1].row}: another import wrote the same legacy ids at "
            "the same time; run the import again"
        ) from None


def _accounts_named(names: set[str]) -> dict[str, uuid.UUID]:
    """Lower-cased company name → its Account, creating the ones nobody has recorded yet."""
    if not names:
        return {}
    wanted = {name.lower(): name for name in names}
    found: dict[str, uuid.UUID] = {}
    same_name = Q()
    for name in names:
        same_name |= Q(name__iexact=name)
    for account_id, name in (
        Account.objects.filter(same_name).order_by("created_at").values_list("id", "name")
    ):
        found.setdefault(name.lower(), account_id)
    for key, name in wanted.items():
        if key not in found:
            found[key] = Account.objects.create(name=name).pk
    return found


def _create_customers(
    rows: list[CustomerRow],
    *,
    site: Site,
    source: str,
    now: datetime,
    stale: set[str],
    accounts: dict[str, uuid.UUID],
) -> None:
    if not rows:
        return
    ids = [uuid7() for _ in rows]
    # Time-ordered ids, like events': new rows append to the indexes that lead with them.
    insert_rows(
        Customer,
        (
            {
                "id": cid,
                "created_at": now,
                "updated_at": now,
                "name": r.name,
                "first_name": r.first_name,
                "last_name": r.last_name,
                "date_of_birth": r.date_of_birth,
                "street": r.street,
                "city": r.city,
                "postcode": r.postcode,
                "country": site.country,
                "account_id": accounts.get(r.company.lower()) if r.company else None,
                "home_site_id": site.pk,
                "profile_verified": False,
                "profile_updated_at": now,
                "profile_history": [],
                "merged_into_id": None,
            }
            for cid, r in zip(ids, rows, strict=True)
        ),
    )
    identity = {"created_at": now, "updated_at": now, "source": source, "site_id": site.pk}
    insert_rows(
        Identity,
        (
            {
                **identity,
                "id": uuid7(),
                "customer_id": cid,
                "kind": kind,
                "value": value,
                "verified": kind == IdentityKind.LEGACY,
            }
            for cid, r in zip(ids, rows, strict=True)
            for kind, value in [(IdentityKind.LEGACY, r.legacy_key), *_identities_of(r)]
        ),
    )
    # A record whose identity has gone (the customer was erased) is replaced, not kept.
    gone = [r.legacy_key for r in rows if r.legacy_key in stale]
    if gone:
        ImportedRecord.objects.filter(legacy_key__in=gone).delete()
    insert_rows(
        ImportedRecord,
        (
            {
                "id": uuid7(),
                "created_at": now,
                "updated_at": now,
                "site_id": site.pk,
                "legacy_key": r.legacy_key,
                "customer_id": cid,
                "values": r.values(),
                "fingerprint": r.fingerprint,
            }
            for cid, r in zip(ids, rows, strict=True)
        ),
    )


def _update_customers(
    todo: list[CustomerRow],
    holders: dict[str, uuid.UUID],
    *,
    site: Site,
    source: str,
    now: datetime,
    accounts: dict[str, uuid.UUID],
) -> tuple[int, int]:
    """Rows whose legacy id is known but whose record is not as last imported (or was never
    imported here): apply what the centre changed. Returns (updated, unchanged)."""
    unchanged = 0
    if not todo:
        return 0, unchanged
    records = {
        rec.legacy_key: rec
        for rec in ImportedRecord.objects.select_for_update().filter(
            legacy_key__in=[r.legacy_key for r in todo]
        )
    }
    ids = {holders[r.legacy_key] for r in todo}
    customers = Customer.objects.select_for_update().in_bulk(list(ids))
    owned: set[tuple[uuid.UUID, str, str]] = set(
        Identity.objects.filter(customer_id__in=ids).values_list("customer_id", "kind", "value")
    )
    Identity.objects.filter(
        customer_id__in=ids,
        kind=IdentityKind.LEGACY,
        value__in=[r.legacy_key for r in todo],
        verified=False,
    ).update(verified=True)
    new_identities: list[Identity] = []
    new_records: list[ImportedRecord] = []
    updated = 0
    for r in todo:
        customer = customers[holders[r.legacy_key]]
        record = records.get(r.legacy_key)
        before = record.values if record else {}
        values = r.values()
        changed: list[str] = []
        history: list[dict[str, Any]] = []
        for name in PROFILE_FIELDS:
            new_value = values[name]
            current = _profile_value(customer, name)
            # Only what the centre changed since the last import, never erasing a value.
            if not new_value or before.get(name) == new_value or current == new_value:
                continue
            if current:
                history.append(
                    {
                        "field": name,
                        "value": current,
                        "merge_id": None,
                        "at": now.isoformat(),
                        "source": source,
                    }
                )
            setattr(customer, name, r.date_of_birth if name == "date_of_birth" else new_value)
            changed.append(name)
        # The business: set when the customer has none, or when the centre changed it.
        account_id = accounts.get(r.company.lower()) if r.company else None
        moved_on = customer.account_id is None or before.get("company") != r.company
        if account_id and customer.account_id != account_id and moved_on:
            if customer.account_id is not None:
                history.append(
                    {
                        "field": "account",
                        "value": str(customer.account_id),
                        "merge_id": None,
                        "at": now.isoformat(),
                        "source": source,
                    }
                )
            customer.account_id = account_id
            changed.append("account")
        added = [
            (kind, value)
            for kind, value in _identities_of(r)
            if (customer.pk, kind, value) not in owned
        ]
        for kind, value in added:
            owned.add((customer.pk, kind, value))
            new_identities.append(
                Identity(
                    customer=customer,
                    kind=kind,
                    value=value,
                    verified=False,
                    source=source,
                    site=site,
                )
            )
        if changed:
            customer.profile_history = [*customer.profile_history, *history]
            customer.profile_updated_at = now
            customer.save(
                update_fields=[*changed, "profile_history", "profile_updated_at", "updated_at"]
            )
        if record is None:
            new_records.append(
                ImportedRecord(
                    site=site,
                    legacy_key=r.legacy_key,
                    customer=customer,
                    values=values,
                    fingerprint=r.fingerprint,
                )
            )
            if changed or added:
                updated += 1
            else:
                unchanged += 1
        else:
            record.values = values
            record.fingerprint = r.fingerprint
            record.save(update_fields=["values", "fingerprint", "updated_at"])
            updated += 1
    Identity.objects.bulk_create(new_identities)
    ImportedRecord.objects.bulk_create(new_records)
    return updated, unchanged


# --- events -----------------------------------------------------------------------------------


def import_events(
    *,
    path: Path,
    site: Site,
    mapping: Mapping,
    batch_size: int = 500,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Check every event row (its customer, its payload, its key), then ingest in batches.

    Imported events are history: they never trigger a sales survey (the survey after an order
    is enqueued by the events API, not by `ingest_events`, which is what imports call).
    """
    progress = progress or _Quiet()
    began = time.monotonic()
    raws, errors = read_rows(
        path,
        mapping,
        known=EVENT_COLUMNS,
        required=("legacy_id", "external_id", "occurred_at", "kind"),
        payload_columns=True,
    )
    outcome = ImportOutcome(rows=len(raws) + len({e.row for e in errors}))
    fresh, holders, unchanged = _check_events(
        raws, errors, site=site, mapping=mapping, progress=progress
    )
    del raws
    outcome.errors = _sorted_errors(errors)
    outcome.unchanged = unchanged
    if errors and not skip_invalid:
        outcome.seconds = time.monotonic() - began
        return outcome
    progress.start("Dry run" if dry_run else "Importing", len(fresh))
    for batch in chunks(fresh, max(1, min(batch_size, settings.LOXODON_MAX_BATCH))):
        if dry_run:
            outcome.created += len(batch)
        else:
            outcome.created += _write_event_batch(batch, holders, site=site)
        progress.advance(len(batch))
    outcome.written = not dry_run
    outcome.seconds = time.monotonic() - began
    return outcome


def _same_content(row: EventRow, other: EventRow) -> bool:
    return (
        row.legacy_key,
        row.kind,
        row.channel,
        row.occurred_at,
        row.summary,
        row.body,
        row.payload,
    ) == (
        other.legacy_key,
        other.kind,
        other.channel,
        other.occurred_at,
        other.summary,
        other.body,
        other.payload,
    )


def _as_stored(payload: dict[str, Any]) -> Any:
    return json.loads(json.dumps(payload, default=str))


def _matches_stored(row: EventRow, event: Event, customer_id: uuid.UUID, site: Site) -> bool:
    """The stored event is this row (compared field by field, not by the ingest fingerprint,
    which names the customer: a merge since the first import must not make a re-run clash)."""
    return (
        event.customer_id == customer_id
        and event.kind == row.kind
        and event.channel == row.channel
        and event.occurred_at == row.occurred_at
        and event.summary == row.summary
        and event.body == row.body
        and event.payload == _as_stored(row.payload)
        and event.site_id == site.pk
    )


def _check_events(
    raws: list[RawRow],
    errors: list[RowError],
    *,
    site: Site,
    mapping: Mapping,
    progress: Progress,
) -> tuple[list[EventRow], dict[str, uuid.UUID], int]:
    """(rows to write, legacy key -> customer, rows already imported)."""
    progress.start("Checking", len(raws))
    zone = ZoneInfo(site.time_zone)
    rows: list[EventRow] = []
    for n, raw in enumerate(raws, start=1):
        try:
            rows.append(
                parse_event(
                    raw, site_code=site.code, mapping=mapping, zone=zone, site_label=site.name
                )
            )
        except RowErrors as exc:
            errors.extend(exc.errors)
        if n % CHECK_EVERY == 0:
            progress.advance(CHECK_EVERY)
    progress.advance(len(raws) % CHECK_EVERY)

    holders = _legacy_holders({r.legacy_key for r in rows})
    first: dict[str, EventRow] = {}
    unique: list[EventRow] = []
    repeats = 0
    for r in rows:
        if r.legacy_key not in holders:
            errors.append(
                RowError(
                    r.row,
                    r.legacy_id,
                    "legacy_id",
                    r.legacy_id,
                    f"no customer has the legacy id '{r.legacy_key}' (import the "
                    "centre's customers first)",
                )
            )
        elif r.external_id in first:
            if _same_content(r, first[r.external_id]):
                repeats += 1
            else:
                errors.append(
                    RowError(
                        r.row,
                        r.legacy_id,
                        "external_id",
                        r.external_id,
                        f"the same external id is on row {first[r.external_id].row} "
                        "with other content",
                    )
                )
        else:
            first[r.external_id] = r
            unique.append(r)

    source = import_source(site)
    stored: dict[str, Event] = {}
    for chunk in chunks([r.external_id for r in unique], LOOKUP_CHUNK):
        for event in Event.objects.filter(source=source, external_id__in=chunk):
            stored[event.external_id] = event
    fresh: list[EventRow] = []
    already = 0
    for r in unique:
        found = stored.get(r.external_id)
        if found is None:
            fresh.append(r)
        elif _matches_stored(r, found, holders[r.legacy_key], site):
            already += 1
        else:
            errors.append(
                RowError(
                    r.row,
                    r.legacy_id,
                    "external_id",
                    r.external_id,
                    f"this external id was already imported with other content (event "
                    f"{found.pk}); an imported event is never changed",
                )
            )
    return fresh, holders, already + repeats


def _write_event_batch(batch: list[EventRow], holders: dict[str, uuid.UUID], *, site: Site) -> int:
    """One batch through the timeline's idempotent ingest (one transaction); events created."""
    source = import_source(site)
    drafts = [
        EventDraft(
            source=source,
            external_id=r.external_id,
            channel=r.channel,
            kind=r.kind,
            occurred_at=r.occurred_at,
            summary=r.summary,
            body=r.body,
            payload=r.payload,
            customer_id=holders[r.legacy_key],
            site=site.code,
        )
        for r in batch
    ]
    try:
        results = ingest_events(drafts, indexed=False)
    except DomainError as exc:
        raise type(exc)(f"rows {batch[0].row} to {batch[-1].row}: {exc.detail}") from None
    return sum(1 for result in results if result.created)
