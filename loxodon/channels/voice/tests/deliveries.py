"""Signed deliveries as a telephony system sends them (a client and the four step bodies)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.test import Client

from loxodon.channels.voice.models import VoiceIntegration
from loxodon.channels.voice.signing import signature_headers

URL = "/api/v1/channels/voice/events"
JO_PHONE = "+44 1632 960001"  # Jo Bloggs' number in the shared `customer` fixture
JO_ACCOUNT = "AC100200"


class Pbx:
    """Sends signed deliveries over HTTP, as a telephony system would."""

    def __init__(self, integration: VoiceIntegration) -> None:
        self.integration = integration
        self.client = Client()

    def send(
        self,
        body: dict[str, Any] | str | bytes,
        *,
        timestamp: int | None = None,
        headers: dict[str, str | None] | None = None,
        sign_body: bytes | None = None,
    ) -> Any:
        raw = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        ts = int(time.time()) if timestamp is None else timestamp
        signed: dict[str, str | None] = dict(
            signature_headers(
                self.integration, raw if sign_body is None else sign_body, timestamp=ts
            )
        )
        signed.update(headers or {})
        return self.client.post(
            URL,
            raw,
            content_type="application/json",
            headers={k: v for k, v in signed.items() if v is not None},
        )


def started(call_id: str = "c1", caller: str | None = JO_PHONE, **kw: Any) -> dict[str, Any]:
    return {
        "id": f"{call_id}-start",
        "type": "call.started",
        "call_id": call_id,
        "occurred_at": "2026-11-24T09:00:00Z",
        "caller": caller,
        "dialled": "0800 123 456",
        **kw,
    }


def ivr(
    call_id: str = "c1", account: str | None = JO_ACCOUNT, verified: bool = True, **kw: Any
) -> dict[str, Any]:
    return {
        "id": f"{call_id}-ivr",
        "type": "ivr.completed",
        "call_id": call_id,
        "occurred_at": "2026-11-24T09:00:40Z",
        "account_number": account,
        "verified": verified,
        "menu_path": ["support", "drivers"],
        "intent": "driver for refurbished laptop",
        **kw,
    }


def routed(
    call_id: str = "c1", agent: str | None = "ann", department: str | None = None, **kw: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{call_id}-routed",
        "type": "call.routed",
        "call_id": call_id,
        "occurred_at": "2026-11-24T09:01:00Z",
        **kw,
    }
    if agent:
        body["to_agent"] = agent
    if department:
        body["to_department"] = department
    return body


def ended(call_id: str = "c1", **kw: Any) -> dict[str, Any]:
    return {
        "id": f"{call_id}-ended",
        "type": "call.ended",
        "call_id": call_id,
        "occurred_at": "2026-11-24T09:05:12Z",
        "duration_seconds": 252,
        "recording_url": "https://recordings.example.com/c1.mp3",
        **kw,
    }
