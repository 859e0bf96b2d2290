from __future__ import annotations

from typing import Any

from django.db import transaction
from ninja import Router, Status

from loxodon.core.event_types import KINDS
from loxodon.core.faults import fault_point
from loxodon.core.schemas import ApiRequest
from loxodon.customers.selectors import get_customer_for
from loxodon.insights.tasks import surveys_after_orders
from loxodon.org.selectors import get_site
from loxodon.timeline.schemas import (
    AssetIn,
    AssetOut,
    BatchIn,
    BatchOut,
    EventIn,
    EventOut,
    KindOut,
    TimelineOut,
    asset_out,
    batch_out,
    event_out,
)
from loxodon.timeline.selectors import timeline_page
from loxodon.timeline.services import (
    SERVICE_ONLY_KINDS,
    EventDraft,
    IngestResult,
    ingest_events,
    register_asset,
)
from loxodon.timeline.transactions import payload_json_schemas

router = Router(tags=["timeline"])


def _draft(e: EventIn) -> EventDraft:
    return EventDraft(
        source=e.source,
        external_id=e.external_id,
        channel=e.channel,
        kind=e.kind,
        occurred_at=e.occurred_at,
        summary=e.summary,
        body=e.body,
        payload=e.payload,
        case_id=e.case_id,
        customer_id=e.customer_id,
        customer=e.customer.model_dump() if e.customer else None,
        site=e.site,
        actor=e.actor,
    )


def _invite_after_orders(results: list[IngestResult]) -> None:
    """New orders from other systems: the customer gets a sales survey (the insights app decides
    whether: recent orders only, one per window). Demo and bulk imports do not go through here."""
    orders = [str(r.event.pk) for r in results if r.created and r.event.kind == "order"]
    if orders:  # a background job: ingest neither waits for nor fails with the invitations
        transaction.on_commit(lambda: surveys_after_orders.enqueue(orders))


@router.post("/events", response={200: EventOut, 201: EventOut})
def post_event(request: ApiRequest, event: EventIn) -> Status[dict[str, Any]]:
    """Append one event. A repeat of `(source, external_id)` returns the stored event (200)."""
    fault_point("ingest.received")
    (result,) = ingest_events([_draft(event)], indexed=False)
    _invite_after_orders([result])
    fault_point("ingest.committed")
    return Status(201 if result.created else 200, event_out(result.event))


@router.post("/events/batch", response={200: BatchOut, 201: BatchOut})
def post_batch(request: ApiRequest, batch: BatchIn) -> Status[dict[str, Any]]:
    """Append up to 1000 events in one transaction: all are stored, or none."""
    fault_point("ingest.received")
    results = ingest_events([_draft(e) for e in batch.events])
    _invite_after_orders(results)
    fault_point("ingest.committed")
    return Status(*batch_out([(r.event, r.created) for r in results]))


@router.get("/events/kinds", response=list[KindOut])
def event_kinds(request: ApiRequest) -> list[dict[str, Any]]:
    """Every event kind integrations may send, and for transactions the payload they need
    (JSON Schema). Unknown payload fields are kept; the named ones are checked."""
    schemas = payload_json_schemas()
    return [
        {
            "kind": k.name,
            "label": k.label,
            "internal": k.internal,
            "transaction": k.transaction,
            "payload_schema": schemas.get(k.name),
        }
        for k in KINDS.values()
        if k.name not in SERVICE_ONLY_KINDS
    ]


@router.get("/customers/{customer_id}/timeline", response=TimelineOut)
def customer_timeline(
    request: ApiRequest,
    customer_id: str,
    cursor: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    customer = get_customer_for(request.auth, customer_id)
    page = timeline_page(
        request.auth, customer.pk, cursor=cursor, channel=channel, kind=kind, limit=limit
    )
    return {"items": [event_out(e) for e in page.items], "next_cursor": page.next_cursor}


@router.post("/assets", response={201: AssetOut})
def post_asset(request: ApiRequest, asset: AssetIn) -> Status[dict[str, Any]]:
    customer = get_customer_for(request.auth, asset.customer_id)
    created = register_asset(
        customer=customer,
        product=asset.product,
        actor=request.auth,
        serial=asset.serial,
        purchased_at=asset.purchased_at,
        refurbished=asset.refurbished,
        os=asset.os,
        warranty_until=asset.warranty_until,
        site=get_site(asset.site) if asset.site else None,
    )
    return Status(201, asset_out(created))
