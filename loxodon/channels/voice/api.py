"""`POST /api/v1/channels/voice/events`: the webhook a telephony system (IVR / CTI) calls.

Authenticated by signature, not by token (see `signing.py`): the view reads the raw body, checks
the signature over it, then validates it (422 like the rest of the API) and applies the step.
The body is one of call.started, ivr.completed, call.routed, call.ended (`schemas.py`);
docs/integrations/voice.md has a worked example.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status
from ninja.errors import ValidationError
from pydantic import ValidationError as PydanticValidationError

from loxodon.channels.voice.models import Call
from loxodon.channels.voice.schemas import VOICE_EVENT, VoiceEventOut, openapi_request_body
from loxodon.channels.voice.services import apply_call_step
from loxodon.channels.voice.signing import verify_request
from loxodon.core.schemas import ErrorOut

router = Router(tags=["channels: voice"])


def call_out(call: Call) -> dict[str, Any]:
    return {
        "id": call.pk,
        "call_id": call.call_id,
        "status": call.status,
        "customer_id": call.customer_id,
        "event_id": call.event_id,
        "caller": call.caller,
        "dialled": call.dialled,
        "ivr_completed": call.ivr_completed,
        "ivr_verified": call.ivr_verified,
        "ivr_account_number": call.ivr_account_number,
        "routed_to_agent": call.routed_agent.username if call.routed_agent else None,
        "routed_to_department": call.routed_department.code if call.routed_department else None,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "duration_seconds": call.duration_seconds,
        "mismatch_customer_id": call.mismatch_customer_id,
        "note": call.note,
    }


@router.post(
    "/events",
    auth=None,
    response={
        200: VoiceEventOut,
        201: VoiceEventOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Report a step of a phone call (signed webhook)",
    openapi_extra={"requestBody": openapi_request_body()},
)
def post_voice_event(request: HttpRequest) -> Status[dict[str, Any]]:
    """One step of a call: `call.started`, `ivr.completed`, `call.routed` or `call.ended`.

    Headers: `X-Loxodon-Integration: <key id>`, `X-Loxodon-Timestamp: <unix seconds>`,
    `X-Loxodon-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`; requests
    signed more than 5 minutes from our clock are refused (401). A new step answers 201, a
    repeated delivery (same `id`, same content) 200 with nothing changed, the same `id` with
    other content 409. Unknown `to_agent` / `to_department`: 404, nothing written.
    """
    integration = verify_request(request.headers, request.body, now=timezone.now())
    try:
        step = VOICE_EVENT.validate_json(request.body)
    except PydanticValidationError as exc:
        raise ValidationError(
            [
                {**e, "loc": ("body", "event", *e["loc"]) if e.get("loc") else ("body",)}
                for e in exc.errors()
            ]
        ) from None
    result = apply_call_step(integration, step)
    body = {
        "delivery_id": step.id,
        "type": step.type,
        "replayed": result.replayed,
        "call": call_out(result.call),
    }
    return Status(200 if result.replayed else 201, body)
