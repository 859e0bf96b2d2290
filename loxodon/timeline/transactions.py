"""Transactions from other systems: the typed payload each kind must carry.

Orders, returns, shipments, warranty registrations and invoices arrive through the ordinary
events API (`POST /events`, `/events/batch`). What makes them transactions is their payload,
validated here per kind so that every screen (desk, portal, alerts) can rely on the same fields.
Fields we do not know are kept as delivered (an ERP sends what it sends); the fields we name
must have the right type. `order` and `warranty` events also keep the customer's installed
products (assets) up to date: see `apply_to_assets`. Survey answers (`survey`) are checked the
same way, whether they come from our own survey pages or from another system (e.g. a telephony
post-call survey).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loxodon.core.errors import InvalidInput

Money = Decimal
Currency = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. GBP")


class _Payload(BaseModel):
    # Unknown fields are kept; known fields are checked. Strings are trimmed.
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class OrderLine(_Payload):
    product: str = Field(min_length=1, max_length=200)
    sku: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, ge=1, le=100_000)
    unit_price: Money | None = Field(default=None, ge=0)
    serial: str | None = Field(
        default=None, max_length=100, description="a serial makes the line an installed product"
    )
    warranty_until: date | None = None
    refurbished: bool = False
    os: str | None = Field(default=None, max_length=100)


class OrderPayload(_Payload):
    order_number: str = Field(min_length=1, max_length=100)
    status: Literal["quoted", "placed", "paid", "shipped", "delivered", "cancelled"] = "placed"
    ordered_on: date | None = Field(default=None, description="defaults to occurred_at's date")
    total: Money | None = Field(default=None, ge=0)
    currency: str | None = Currency
    lines: list[OrderLine] = Field(min_length=1, max_length=500)


class ReturnLine(_Payload):
    product: str = Field(min_length=1, max_length=200)
    serial: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, ge=1, le=100_000)


class ReturnPayload(_Payload):
    return_number: str = Field(min_length=1, max_length=100)
    order_number: str | None = Field(default=None, max_length=100)
    status: Literal["requested", "authorised", "received", "refunded", "rejected"] = "requested"
    reason: str = Field(min_length=1, max_length=1000)
    lines: list[ReturnLine] = Field(default_factory=list, max_length=500)


class ShipmentPayload(_Payload):
    carrier: str = Field(min_length=1, max_length=100)
    status: Literal[
        "created", "collected", "in_transit", "out_for_delivery", "delivered", "exception"
    ]
    tracking_number: str | None = Field(default=None, max_length=100)
    order_number: str | None = Field(default=None, max_length=100)
    return_number: str | None = Field(default=None, max_length=100)
    expected_on: date | None = None


class WarrantyPayload(_Payload):
    """A warranty registration (product, serial, cover until) or a claim against one."""

    type: Literal["registration", "claim"] = "registration"
    product: str = Field(min_length=1, max_length=200)
    serial: str | None = Field(default=None, max_length=100)
    warranty_until: date | None = None
    starts_on: date | None = None
    plan: str | None = Field(default=None, max_length=100)
    purchased_at: date | None = None
    refurbished: bool = False
    os: str | None = Field(default=None, max_length=100)
    claim_number: str | None = Field(default=None, max_length=100)
    outcome: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _complete(self) -> WarrantyPayload:
        if self.type == "registration":
            if not self.serial or self.warranty_until is None:
                raise ValueError("a registration needs serial and warranty_until")
            if self.starts_on and self.warranty_until < self.starts_on:
                raise ValueError("warranty_until is before starts_on")
        elif not self.claim_number:
            raise ValueError("a claim needs claim_number")
        return self


class InvoicePayload(_Payload):
    invoice_number: str = Field(min_length=1, max_length=100)
    amount: Money
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. GBP")
    status: Literal["issued", "paid", "overdue", "credited", "void"] = "issued"
    due_on: date | None = None
    order_number: str | None = Field(default=None, max_length=100)


class SurveyPayload(_Payload):
    """A customer's answers about one touchpoint (docs/integrations/surveys.md).

    Scores are strict integers: the payload is stored as delivered, so "5" or 4.5 would reach
    every figure and alert as something other than a score. `effort` and `intent` may be left
    out by systems that do not ask them (a one-question post-call survey); ours always ask.
    """

    touchpoint: Literal["sales", "service", "support"]
    satisfaction: int = Field(strict=True, ge=1, le=5, description="1 very unhappy … 5 very happy")
    effort: int | None = Field(
        default=None, strict=True, ge=1, le=7, description="1 very easy … 7 very hard"
    )
    intent: Literal["yes", "maybe", "no"] | None = Field(
        default=None, description="would the customer buy from us again?"
    )
    comment: str = Field(default="", max_length=2000)
    invitation_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None


PAYLOAD_SCHEMAS: dict[str, type[_Payload]] = {
    "order": OrderPayload,
    "return": ReturnPayload,
    "shipment": ShipmentPayload,
    "warranty": WarrantyPayload,
    "invoice": InvoicePayload,
    "survey": SurveyPayload,
}


def _location(loc: tuple[int | str, ...]) -> str:
    out = "payload"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_payload(kind: str, payload: dict[str, Any], where: str = "") -> BaseModel | None:
    """Validate a transaction's payload; InvalidInput names the first wrong field."""
    schema = PAYLOAD_SCHEMAS.get(kind)
    if schema is None:
        return None
    try:
        return schema.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        )
        raise InvalidInput(f"{where}a '{kind}' event needs a valid payload: {problems}") from None


def payload_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each transaction kind's payload (published in the API)."""
    return {kind: schema.model_json_schema() for kind, schema in PAYLOAD_SCHEMAS.items()}


@dataclass(frozen=True)
class AssetFact:
    """What one transaction says about one installed product."""

    customer_id: uuid.UUID
    site_id: uuid.UUID | None
    product: str
    serial: str
    purchased_at: date | None
    warranty_until: date | None
    refurbished: bool
    os: str


def asset_facts(
    kind: str, payload: BaseModel, *, customer_id: uuid.UUID, site_id: uuid.UUID | None, on: date
) -> list[AssetFact]:
    """Installed products named by an order (lines with a serial) or a warranty registration."""
    if isinstance(payload, OrderPayload):
        if payload.status in ("quoted", "cancelled"):
            return []
        return [
            AssetFact(
                customer_id=customer_id,
                site_id=site_id,
                product=line.product,
                serial=line.serial,
                purchased_at=payload.ordered_on or on,
                warranty_until=line.warranty_until,
                refurbished=line.refurbished,
                os=line.os or "",
            )
            for line in payload.lines
            if line.serial
        ]
    if isinstance(payload, WarrantyPayload) and payload.serial and payload.type == "registration":
        return [
            AssetFact(
                customer_id=customer_id,
                site_id=site_id,
                product=payload.product,
                serial=payload.serial,
                purchased_at=payload.purchased_at,
                warranty_until=payload.warranty_until,
                refurbished=payload.refurbished,
                os=payload.os or "",
            )
        ]
    return []
