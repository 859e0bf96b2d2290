"""Signed webhooks: how a telephony system proves a request is its own, fresh and untampered.

Every request carries three headers:

    X-Loxodon-Integration: <key id>
    X-Loxodon-Timestamp:   <unix seconds when the request was signed>
    X-Loxodon-Signature:   v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The signature covers the timestamp and the exact bytes of the body, so neither can be changed.
A request signed more than `WINDOW_SECONDS` away from our clock (either direction) is refused as
a possible replay; within the window, replays are harmless because every delivery is idempotent.
Several signatures may be sent comma-separated (`v1=…,v1=…`) while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from loxodon.channels.voice.models import VoiceIntegration
from loxodon.core.errors import DomainError

WINDOW_SECONDS = 300
INTEGRATION_HEADER = "X-Loxodon-Integration"
TIMESTAMP_HEADER = "X-Loxodon-Timestamp"
SIGNATURE_HEADER = "X-Loxodon-Signature"
SCHEME = "v1"


class SignatureRejected(DomainError):
    """The request is not provably from an active integration, or not fresh: 401."""

    status_code = 401


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret` (what integrators compute)."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_headers(
    integration: VoiceIntegration, body: bytes, *, timestamp: int
) -> dict[str, str]:
    """The three headers for `body` (for tests, and for anyone sending from Python)."""
    return {
        INTEGRATION_HEADER: integration.key_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={sign(integration.secret, timestamp, body)}",
    }


def verify_request(headers: Mapping[str, str], body: bytes, *, now: datetime) -> VoiceIntegration:
    """The integration that signed this request, or `SignatureRejected` saying what is wrong.

    Checks, in order: the headers are present; the key id names an active integration; one of
    the signatures matches (constant-time comparison); the timestamp is within the window of
    `now` (checked after the signature, so "outside the window" is only ever said of a request
    that really came from the integration).
    """
    missing = [
        h for h in (INTEGRATION_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if not headers.get(h)
    ]
    if missing:
        raise SignatureRejected(f"missing header(s): {', '.join(missing)}")
    key_id = headers[INTEGRATION_HEADER].strip()
    integration = VoiceIntegration.objects.select_related("site").filter(key_id=key_id).first()
    if integration is None:
        raise SignatureRejected(f"unknown integration '{key_id[:64]}'")
    if not integration.active:
        raise SignatureRejected(f"integration '{key_id}' is disabled")
    raw_timestamp = headers[TIMESTAMP_HEADER].strip()
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        raise SignatureRejected(f"{TIMESTAMP_HEADER} must be unix seconds (an integer)")
    expected = sign(integration.secret, raw_timestamp, body)
    offered = [
        value.strip()
        for scheme, sep, value in (
            part.strip().partition("=") for part in headers[SIGNATURE_HEADER].split(",")
        )
        if sep and scheme.strip() == SCHEME
    ]
    if not offered:
        raise SignatureRejected(f"{SIGNATURE_HEADER} must be '{SCHEME}=<hex HMAC-SHA256>'")
    if not any(hmac.compare_digest(expected.encode(), value.lower().encode()) for value in offered):
        raise SignatureRejected(
            "bad signature: expected v1=HMAC-SHA256(secret, '<timestamp>.<raw body>') in hex"
        )
    if abs(now.timestamp() - int(raw_timestamp)) > WINDOW_SECONDS:
        raise SignatureRejected("timestamp outside the 5-minute window (replay?)")
    return integration
