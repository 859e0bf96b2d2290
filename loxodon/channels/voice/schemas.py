"""What a telephony system sends to `POST /api/v1/channels/voice/events`, and what it gets back.

Every delivery carries `id` (unique per delivery, reused when the same delivery is retried),
`type`, `call_id` and `occurred_at` (ISO 8601 with offset), plus the fields of its type.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, Field, TypeAdapter, field_validator, model_validator

from loxodon.core.schemas import StrictIn

Text100 = Annotated[str, Field(min_length=1, max_length=100)]


class _Delivery(StrictIn):
    id: str = Field(min_length=1, max_length=200, description="delivery id (idempotency key)")
    call_id: str = Field(min_length=1, max_length=200)
    occurred_at: AwareDatetime


class CallStartedIn(_Delivery):
    type: Literal["call.started"]
    caller: str | None = Field(
        default=None, max_length=64, description="caller's number in any format; null if withheld"
    )
    dialled: str = Field(default="", max_length=64, description="the line (number) dialled")


class IvrCompletedIn(_Delivery):
    type: Literal["ivr.completed"]
    account_number: str | None = Field(default=None, max_length=64)
    verified: bool = Field(description="the IVR verified the caller (holds the account entered)")
    menu_path: list[Text100] = Field(default_factory=list, max_length=20)
    intent: str = Field(default="", max_length=100)


class CallRoutedIn(_Delivery):
    type: Literal["call.routed"]
    to_agent: str | None = Field(default=None, max_length=150, description="staff username")
    to_department: str | None = Field(default=None, max_length=64, description="department code")

    @model_validator(mode="after")
    def one_target(self) -> CallRoutedIn:
        if bool(self.to_agent) == bool(self.to_department):
            raise ValueError("give exactly one of to_agent or to_department")
        return self


class CallEndedIn(_Delivery):
    type: Literal["call.ended"]
    duration_seconds: int = Field(ge=0, le=7 * 24 * 3600)
    recording_url: str | None = Field(default=None, max_length=2000)
    transcript_ref: str | None = Field(default=None, max_length=500)

    @field_validator("recording_url")
    @classmethod
    def http_url(cls, value: str | None) -> str | None:
        if value and not value.lower().startswith(("https://", "http://")):
            raise ValueError("recording_url must be an http(s) URL")
        return value or None


VoiceEventIn = Annotated[
    CallStartedIn | IvrCompletedIn | CallRoutedIn | CallEndedIn, Field(discriminator="type")
]
VOICE_EVENT = TypeAdapter(VoiceEventIn)
STEP_TYPES = ("call.started", "ivr.completed", "call.routed", "call.ended")


class CallOut(Schema):
    id: uuid.UUID
    call_id: str
    status: str
    customer_id: uuid.UUID | None
    event_id: uuid.UUID | None
    caller: str
    dialled: str
    ivr_completed: bool
    ivr_verified: bool
    ivr_account_number: str
    routed_to_agent: str | None
    routed_to_department: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    mismatch_customer_id: uuid.UUID | None
    note: str


class VoiceEventOut(Schema):
    delivery_id: str
    type: str
    replayed: bool = Field(description="true: this delivery was already applied; nothing changed")
    call: CallOut


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        out = {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
        if isinstance(out.get("discriminator"), dict):  # its mapping points into $defs
            out["discriminator"] = {"propertyName": out["discriminator"]["propertyName"]}
        return out
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def openapi_request_body() -> dict[str, Any]:
    """The webhook's body for the OpenAPI document (the view reads the raw body to check the
    signature first, so Ninja cannot infer it), with the four event shapes inlined."""
    schema = VOICE_EVENT.json_schema()
    return {
        "required": True,
        "content": {"application/json": {"schema": _inline(schema, schema.get("$defs", {}))}},
    }
