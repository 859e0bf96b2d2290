from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, Field

from loxodon.core.schemas import StrictIn
from loxodon.timeline.models import Asset, Event

ChannelName = Literal[
    "phone", "ivr", "email", "chat", "sms", "web", "in_person", "letter", "system"
]


class CustomerRefIn(StrictIn):
    email: str | None = None
    phone: str | None = None
    account_number: str | None = None
    name: str | None = Field(default=None, max_length=200)


class EventIn(StrictIn):
    source: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)
    channel: ChannelName
    kind: str = Field(min_length=1, max_length=32)
    occurred_at: AwareDatetime
    summary: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=200_000)
    payload: dict[str, Any] = Field(default_factory=dict)
    case_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    customer: CustomerRefIn | None = None
    site: str | None = Field(default=None, max_length=32)
    actor: str | None = Field(default=None, description="username of the agent who handled it")


class BatchIn(StrictIn):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    case_id: uuid.UUID | None
    occurred_at: datetime
    recorded_at: datetime
    channel: str
    kind: str
    internal: bool
    summary: str
    body: str
    payload: dict[str, Any]
    site: str | None
    actor: str | None
    source: str
    external_id: str


def event_out(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "customer_id": e.customer_id,
        "case_id": e.case_id,
        "occurred_at": e.occurred_at,
        "recorded_at": e.recorded_at,
        "channel": e.channel,
        "kind": e.kind,
        "internal": e.internal,
        "summary": e.summary,
        "body": e.body,
        "payload": e.payload,
        "site": e.site.code if e.site_id and e.site else None,
        "actor": e.actor.username if e.actor_id and e.actor else None,
        "source": e.source,
        "external_id": e.external_id,
    }


class KindOut(Schema):
    kind: str
    label: str
    internal: bool
    transaction: bool
    payload_schema: dict[str, Any] | None


class BatchItemOut(Schema):
    index: int
    id: uuid.UUID
    source: str
    external_id: str
    created: bool


class BatchOut(Schema):
    created: int
    existing: int
    items: list[BatchItemOut]


def batch_out(written: Sequence[tuple[Any, bool]]) -> tuple[int, dict[str, Any]]:
    """The answer to a batch (events or cases): each keyed row and whether it is new; 201 when
    anything was written, 200 when every item was a repeat."""
    created = sum(1 for _, new in written if new)
    items = [
        {
            "index": i,
            "id": row.id,
            "source": row.source,
            "external_id": row.external_id,
            "created": new,
        }
        for i, (row, new) in enumerate(written)
    ]
    body = {"created": created, "existing": len(written) - created, "items": items}
    return (201 if created else 200), body


class TimelineOut(Schema):
    items: list[EventOut]
    next_cursor: str | None


class AssetIn(StrictIn):
    customer_id: uuid.UUID
    product: str = Field(min_length=1, max_length=200)
    serial: str = Field(default="", max_length=100)
    purchased_at: date | None = None
    refurbished: bool = False
    os: str = Field(default="", max_length=100)
    warranty_until: date | None = None
    site: str | None = None


class AssetOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    product: str
    serial: str
    purchased_at: date | None
    refurbished: bool
    os: str
    warranty_until: date | None
    site: str | None


def asset_out(a: Asset) -> dict[str, Any]:
    return {
        "id": a.id,
        "customer_id": a.customer_id,
        "product": a.product,
        "serial": a.serial,
        "purchased_at": a.purchased_at,
        "refurbished": a.refurbished,
        "os": a.os,
        "warranty_until": a.warranty_until,
        "site": a.site.code if a.site_id and a.site else None,
    }
