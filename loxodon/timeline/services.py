"""Every write to the timeline: idempotent ingest from other systems, events from our own apps,
and assets."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from pydantic import BaseModel

from loxodon.core import live
from loxodon.core.bulk import insert_rows
from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.core.event_types import INTERNAL_KINDS, KINDS, Channel
from loxodon.core.faults import fault_point
from loxodon.customers.merging import survivor_id_of
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.normalise import normalise_identity
from loxodon.customers.resolution.exact import decide
from loxodon.customers.services import create_customers_for_contacts
from loxodon.org.models import Site, User
from loxodon.org.selectors import active_staff_by_username, sites_by_code
from loxodon.timeline.models import AppendOnlyError, Asset, Event
from loxodon.timeline.transactions import asset_facts, check_payload

log = logging.getLogger(__name__)

OWN_SOURCE = "loxodon"
MAX_PAYLOAD_BYTES = 64 * 1024
# Kinds that only Loxodon's own services write (case work); integrations cannot forge them.
SERVICE_ONLY_KINDS = frozenset(
    {
        "case_opened",
        "status_change",
        "task_added",
        "task_completed",
        "handoff",
        "confirmation",
        "sla_warning",
        "sla_breached",
        "sla_escalated",
        "survey_invited",
        "customer_merged",
        "customer_unmerged",
        # knowledge: citations and policy exceptions are recorded by their services only
        "article_cited",
        "exception_granted",
        "exception_requested",
        "exception_approved",
        "exception_denied",
        "exception_withdrawn",
        # portal: the customer's own changes, recorded by the portal's services only
        "contact_details_changed",
    }
)
REF_KINDS = (IdentityKind.ACCOUNT_NUMBER, IdentityKind.EMAIL, IdentityKind.PHONE)


@dataclass(frozen=True)
class EventDraft:
    """An event as delivered by an integration, before it is resolved and stored."""

    source: str
    external_id: str
    channel: str
    kind: str
    occurred_at: datetime
    summary: str
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    case_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    customer: dict[str, str | None] | None = None
    site: str | None = None
    actor: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)

    def fingerprint(self) -> str:
        """What was delivered, canonicalised: the same content always hashes the same."""
        content = {
            "channel": self.channel,
            "kind": self.kind,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "summary": self.summary,
            "body": self.body,
            "payload": self.payload,
            "case_id": str(self.case_id) if self.case_id else None,
            "customer_id": str(self.customer_id) if self.customer_id else None,
            "customer": {k: v for k, v in (self.customer or {}).items() if v},
            "site": self.site,
            "actor": self.actor,
        }
        raw = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IngestResult:
    event: Event
    created: bool


def _where(index: int | None) -> str:
    return f"events[{index}]: " if index is not None else ""


def _check_draft(draft: EventDraft, index: int | None) -> BaseModel | None:
    """Refuse a draft that cannot be stored; a transaction's payload comes back parsed."""
    where = _where(index)
    if draft.channel not in Channel.ALL:
        raise InvalidInput(
            f"{where}unknown channel '{draft.channel}'; use one of: {', '.join(Channel.ALL)}"
        )
    if draft.kind not in KINDS or draft.kind in SERVICE_ONLY_KINDS:
        allowed = sorted(set(KINDS) - SERVICE_ONLY_KINDS)
        raise InvalidInput(f"{where}unknown kind '{draft.kind}'; use one of: {', '.join(allowed)}")
    if draft.occurred_at.tzinfo is None:
        raise InvalidInput(f"{where}occurred_at must include a UTC offset")
    if draft.customer_id is None and not draft.customer and draft.case_id is None:
        raise InvalidInput(f"{where}give customer_id, customer {{email, phone, ...}} or case_id")
    if draft.customer_id is not None and draft.customer:
        raise InvalidInput(f"{where}give either customer_id or customer, not both")
    if len(json.dumps(draft.payload, default=str)) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"{where}payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return check_payload(draft.kind, draft.payload, where)


def _normalised_ref(draft: EventDraft, index: int | None) -> list[tuple[str, str]]:
    ref = draft.customer or {}
    pairs = []
    for kind in REF_KINDS:
        raw = ref.get(str(kind))
        if raw:
            try:
                pairs.append((str(kind), normalise_identity(kind, raw)))
            except InvalidInput as exc:
                raise InvalidInput(f"{_where(index)}customer.{kind}: {exc.detail}") from None
    if not pairs:
        raise InvalidInput(
            f"{_where(index)}customer needs at least one of email, phone, account_number"
        )
    return pairs


def ingest_events(drafts: Sequence[EventDraft], *, indexed: bool = True) -> list[IngestResult]:
    """Append a batch of events atomically and idempotently.

    - Every draft is validated before anything is written; one bad draft rejects the batch.
    - A repeated key with the same content returns the stored event and writes nothing;
      a repeated key with other content is a Conflict (409).
    - Customers are found by id, by case, or resolved from identifiers (new unverified
      customers are created for contacts nobody recognises).
    """
    if len(drafts) > settings.LOXODON_MAX_BATCH:
        raise InvalidInput(f"a batch holds at most {settings.LOXODON_MAX_BATCH} events")
    fingerprints: list[str] = []
    payloads: list[BaseModel | None] = []  # transactions' payloads, parsed once
    first_index: dict[tuple[str, str], int] = {}
    for i, draft in enumerate(drafts):
        idx = i if indexed else None
        payloads.append(_check_draft(draft, idx))
        fp = draft.fingerprint()
        fingerprints.append(fp)
        if draft.key in first_index:
            j = first_index[draft.key]
            if fingerprints[j] != fp:
                raise Conflict(
                    f"{_where(idx)}source/external_id {draft.key} repeats events[{j}] "
                    "with different content"
                )
        else:
            first_index[draft.key] = i
    fault_point("ingest.validated")
    # Two tries: a concurrent delivery of the same key may commit between our read and write;
    # the second pass then finds it and answers as for any repeat.
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _ingest(drafts, fingerprints, payloads, first_index, indexed=indexed)
        except IntegrityError:
            if attempt == 2:
                raise Conflict(
                    "events could not be stored: concurrent conflicting writes"
                ) from None
    raise AssertionError("unreachable")


def _existing_events(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Event]:
    if not keys:
        return {}
    sources = {s for s, _ in keys}
    external_ids = {e for _, e in keys}
    rows = Event.objects.filter(source__in=sources, external_id__in=external_ids)
    return {(e.source, e.external_id): e for e in rows if (e.source, e.external_id) in keys}


def _ingest(
    drafts: Sequence[EventDraft],
    fingerprints: list[str],
    payloads: list[BaseModel | None],
    first_index: dict[tuple[str, str], int],
    *,
    indexed: bool,
) -> list[IngestResult]:
    existing = _existing_events(set(first_index))
    for key, event in existing.items():
        i = first_index[key]
        if event.content_hash != fingerprints[i]:
            raise Conflict(
                f"{_where(i if indexed else None)}source/external_id {key} was already used "
                "for an event with different content",
                event_id=str(event.id),
            )
    fresh = [i for key, i in first_index.items() if key not in existing]
    sites = sites_by_code({drafts[i].site for i in fresh if drafts[i].site})
    customer_ids = _resolve_customers(drafts, fresh, sites, indexed=indexed)
    actors = active_staff_by_username({drafts[i].actor for i in fresh if drafts[i].actor})

    new_events: dict[tuple[str, str], Event] = {}
    for i in fresh:
        d = drafts[i]
        new_events[d.key] = Event(
            customer_id=customer_ids[i],
            occurred_at=d.occurred_at,
            channel=d.channel,
            kind=d.kind,
            internal=d.kind in INTERNAL_KINDS,
            site=sites.get(d.site) if d.site else None,
            actor=actors.get(d.actor) if d.actor else None,
            case_id=d.case_id,
            summary=d.summary,
            body=d.body,
            payload=d.payload,
            source=d.source,
            external_id=d.external_id,
            content_hash=fingerprints[i],
        )
    if new_events:
        Event.objects.bulk_create(list(new_events.values()))
        _keep_assets_current(
            [(new_events[drafts[i].key], p) for i in fresh if (p := payloads[i]) is not None]
        )
        _publish_on_commit(new_events.values())
    fault_point("ingest.before_commit")
    # A key repeated inside this batch is created once (at its first index); the copies after
    # it report "existing", like any repeat.
    return [
        IngestResult(new_events[d.key], created=first_index[d.key] == n)
        if d.key in new_events
        else IngestResult(existing[d.key], created=False)
        for n, d in enumerate(drafts)
    ]


def _keep_assets_current(transactions: list[tuple[Event, BaseModel]]) -> None:
    """Orders (lines with a serial) and warranty registrations create or update assets.

    An asset belongs to the customer who first registered it: a later transaction naming the
    same product and serial for another customer does not move it (logged; the transaction
    itself is on that customer's timeline). Warranty dates only ever extend.
    """
    facts = []
    for e, parsed in sorted(transactions, key=lambda pair: pair[0].occurred_at):
        facts += asset_facts(
            e.kind, parsed, customer_id=e.customer_id, site_id=e.site_id, on=e.occurred_at.date()
        )
    if not facts:
        return
    known = {
        (a.product, a.serial): a
        for a in Asset.objects.select_for_update().filter(serial__in={f.serial for f in facts})
    }
    for f in facts:
        asset = known.get((f.product, f.serial))
        if asset is None:
            known[(f.product, f.serial)] = Asset.objects.create(
                customer_id=f.customer_id,
                product=f.product,
                serial=f.serial,
                purchased_at=f.purchased_at,
                warranty_until=f.warranty_until,
                refurbished=f.refurbished,
                os=f.os,
                site_id=f.site_id,
            )
            continue
        if asset.customer_id != f.customer_id:
            log.warning(
                "asset %s %s belongs to customer %s; not moved to %s",
                f.product,
                f.serial,
                asset.customer_id,
                f.customer_id,
            )
            continue
        changed = []
        current = asset.warranty_until
        if f.warranty_until and (current is None or f.warranty_until > current):
            asset.warranty_until = f.warranty_until
            changed.append("warranty_until")
        if f.purchased_at and not asset.purchased_at:
            asset.purchased_at = f.purchased_at
            changed.append("purchased_at")
        if f.os and f.os != asset.os:
            asset.os = f.os
            changed.append("os")
        if f.refurbished and not asset.refurbished:
            asset.refurbished = True
            changed.append("refurbished")
        if changed:
            asset.save(update_fields=[*changed, "updated_at"])


def _resolve_customers(
    drafts: Sequence[EventDraft],
    fresh: list[int],
    sites: dict[str | None, Site],
    *,
    indexed: bool,
) -> dict[int, uuid.UUID]:
    """Customer id for each fresh draft: given, via its case, or resolved from identifiers."""
    from loxodon.cases.models import Case  # cases depend on the timeline, not the reverse

    out: dict[int, uuid.UUID] = {}
    wanted_customers = {drafts[i].customer_id for i in fresh if drafts[i].customer_id}
    # A customer merged away still answers with its survivor: its history lives there now.
    known_customers = {
        pk: survivor_id_of(pk) if merged_into else pk
        for pk, merged_into in Customer.objects.filter(pk__in=wanted_customers).values_list(
            "pk", "merged_into_id"
        )
    }
    wanted_cases = {drafts[i].case_id for i in fresh if drafts[i].case_id}
    case_customer = dict(Case.objects.filter(pk__in=wanted_cases).values_list("pk", "customer_id"))

    refs: dict[int, list[tuple[str, str]]] = {}
    for i in fresh:
        d = drafts[i]
        where = _where(i if indexed else None)
        if d.case_id is not None and d.case_id not in case_customer:
            raise NotFound(f"{where}no case with id '{d.case_id}'")
        if d.customer_id is not None:
            if d.customer_id not in known_customers:
                raise NotFound(f"{where}no customer with id '{d.customer_id}'")
            out[i] = known_customers[d.customer_id]
        elif d.customer:
            refs[i] = _normalised_ref(d, i if indexed else None)
        elif d.case_id is not None:
            out[i] = case_customer[d.case_id]
        if d.case_id is not None and i in out and case_customer[d.case_id] != out[i]:
            raise InvalidInput(f"{where}case '{d.case_id}' belongs to another customer")

    if refs:
        _resolve_refs(drafts, refs, out, sites)
        for i in refs:
            d = drafts[i]
            if d.case_id is not None and case_customer[d.case_id] != out[i]:
                raise InvalidInput(
                    f"{_where(i if indexed else None)}case '{d.case_id}' belongs to "
                    "another customer than the one these identifiers name"
                )
    return out


def _resolve_refs(
    drafts: Sequence[EventDraft],
    refs: dict[int, list[tuple[str, str]]],
    out: dict[int, uuid.UUID],
    sites: dict[str | None, Site],
) -> None:
    by_kind: dict[str, set[str]] = {}
    for pairs in refs.values():
        for kind, value in pairs:
            by_kind.setdefault(kind, set()).add(value)
    rows_by_pair: dict[tuple[str, str], list[tuple[uuid.UUID, bool]]] = {}
    for kind, values in by_kind.items():
        for cid, value, verified in Identity.objects.filter(
            kind=kind, value__in=values, customer__merged_into__isnull=True
        ).values_list("customer_id", "value", "verified"):
            rows_by_pair.setdefault((kind, value), []).append((cid, verified))

    # Contacts nobody recognised: events sharing an identifier share one new customer.
    created_for: dict[tuple[str, str], uuid.UUID] = {}
    for i, pairs in refs.items():
        rows = [row for pair in pairs for row in rows_by_pair.get(pair, [])]
        resolution = decide(len(pairs), rows)
        if resolution.customer_id is not None:
            out[i] = resolution.customer_id
            continue
        reused = next((created_for[p] for p in pairs if p in created_for), None)
        if reused is not None:
            out[i] = reused
            continue
        d = drafts[i]
        name = (d.customer or {}).get("name") or pairs[0][1]
        (customer,) = create_customers_for_contacts(
            [(name, pairs)], source=d.source, site=sites.get(d.site) if d.site else None
        )
        for pair in pairs:
            created_for[pair] = customer.pk
        out[i] = customer.pk


def _publish_on_commit(events: Iterable[Event]) -> None:
    rows = [(e.customer_id, e.case_id, e.id) for e in events]
    transaction.on_commit(lambda: live.publish_events(rows))


def record_event(
    *,
    customer_id: uuid.UUID,
    kind: str,
    summary: str,
    channel: str = Channel.SYSTEM,
    actor: User | None = None,
    case_id: uuid.UUID | None = None,
    site: Site | None = None,
    body: str = "",
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """An event written by one of Loxodon's own services (case work, notes, assets)."""
    event = own_event(
        customer_id=customer_id,
        kind=kind,
        summary=summary,
        channel=channel,
        actor=actor,
        case_id=case_id,
        site=site,
        body=body,
        payload=payload,
        occurred_at=occurred_at,
    )
    event.save(force_insert=True)
    _publish_on_commit([event])
    return event


def record_events(events: list[Event]) -> list[Event]:
    """Many events built by `own_event`, written with one prepared statement (bulk merges)."""
    insert_rows(events)
    _publish_on_commit(events)
    return events


def own_event(
    *,
    customer_id: uuid.UUID,
    kind: str,
    summary: str,
    channel: str = Channel.SYSTEM,
    actor: User | None = None,
    case_id: uuid.UUID | None = None,
    site: Site | None = None,
    body: str = "",
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """An unsaved event of one of Loxodon's own services: `record_event` or `record_events`."""
    if kind not in KINDS:
        raise ValueError(f"unregistered event kind {kind!r}")
    payload = payload or {}
    external_id = uuid.uuid4().hex
    raw = json.dumps([kind, summary, body, payload], sort_keys=True, default=str)
    return Event(
        customer_id=customer_id,
        occurred_at=occurred_at or timezone.now(),
        channel=channel,
        kind=kind,
        internal=kind in INTERNAL_KINDS,
        site=site,
        actor=actor,
        case_id=case_id,
        summary=summary[:300],
        body=body,
        payload=payload,
        source=OWN_SOURCE,
        external_id=external_id,
        content_hash=hashlib.sha256(raw.encode()).hexdigest(),
    )


# Events that live: a call, a chat or a web visit is one timeline entry that grows as it happens
# (ADR 0008). Everything else is strictly append-only.
LIVING_KINDS = frozenset({"call", "chat", "web_visit"})


def amend_living_event(
    event_id: uuid.UUID,
    *,
    summary: str | None = None,
    body: str | None = None,
    payload: dict[str, Any] | None = None,
    case_id: uuid.UUID | None = None,
    actor: User | None = None,
) -> Event:
    """Bring a living event (call, chat, web visit) up to date, and tell open desk pages.

    The caller owns the transaction and has locked whatever row represents the living thing
    (the call, the chat) so that two updates cannot interleave. Only the fields given change;
    `customer`, `occurred_at`, the idempotency key and the original content hash never do.
    A case can be attached but never swapped for another.
    """
    event = Event.objects.select_for_update(of=("self",)).get(pk=event_id)
    if event.kind not in LIVING_KINDS:
        raise AppendOnlyError(f"a '{event.kind}' event is append-only: record a new event")
    changes: dict[str, Any] = {}
    if summary is not None:
        changes["summary"] = summary[:300]
    if body is not None:
        changes["body"] = body
    if payload is not None:
        if len(json.dumps(payload, default=str)) > MAX_PAYLOAD_BYTES:
            raise InvalidInput(f"payload is larger than {MAX_PAYLOAD_BYTES} bytes")
        changes["payload"] = payload
    if case_id is not None and case_id != event.case_id:
        if event.case_id is not None:
            raise Conflict("this event already belongs to another case")
        changes["case_id"] = case_id
    if actor is not None:
        changes["actor"] = actor
    if changes:
        # The one sanctioned write to an existing event row (the queryset guard is bypassed
        # on purpose, for living kinds only).
        models.QuerySet.update(Event.objects.filter(pk=event.pk), **changes)
        for name, value in changes.items():
            setattr(event, name, value)
        _publish_on_commit([event])
    return event


def record_repeat(*, customer: Customer, actor: User, what: str = "") -> Event:
    """The customer had to tell us again something we already knew (an effort figure)."""
    what = what.strip()[:200]
    return record_event(
        customer_id=customer.pk,
        kind="repeat",
        summary="Customer had to repeat information" + (f": {what}" if what else ""),
        actor=actor,
        site=actor.site,
        payload={"what": what} if what else {},
    )


@transaction.atomic
def register_asset(
    *,
    customer: Customer,
    product: str,
    actor: User | None = None,
    serial: str = "",
    purchased_at: date | None = None,
    refurbished: bool = False,
    os: str = "",
    warranty_until: date | None = None,
    site: Site | None = None,
) -> Asset:
    """Record an installed product on the customer, and say so on their timeline."""
    if not product.strip():
        raise InvalidInput("product must not be empty")
    if purchased_at and warranty_until and warranty_until < purchased_at:
        raise InvalidInput("warranty_until is before purchased_at")
    serial = serial.strip()
    if serial and Asset.objects.filter(product=product.strip(), serial=serial).exists():
        raise Conflict(f"an asset '{product}' with serial '{serial}' is already registered")
    asset = Asset.objects.create(
        customer=customer,
        product=product.strip(),
        serial=serial,
        purchased_at=purchased_at,
        refurbished=refurbished,
        os=os.strip(),
        warranty_until=warranty_until,
        site=site,
    )
    details = ", ".join(
        x
        for x in (
            f"serial {serial}" if serial else "",
            "refurbished" if refurbished else "",
            os.strip(),
            f"warranty until {warranty_until.isoformat()}" if warranty_until else "",
        )
        if x
    )
    record_event(
        customer_id=customer.pk,
        kind="asset",
        summary=f"Product registered: {asset.product}" + (f" ({details})" if details else ""),
        actor=actor,
        site=site,
        payload={"asset_id": str(asset.pk)},
    )
    return asset
