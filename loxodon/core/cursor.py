"""Opaque keyset cursors: stable pages however large the table, no OFFSET scans."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from loxodon.core.errors import InvalidInput


def encode_cursor(at: datetime, pk: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(pk)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(at), uuid.UUID(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput(f"cursor '{cursor}' is not valid; use next_cursor from a page") from None
