from __future__ import annotations

import uuid

from loxodon.core.errors import NotFound


def parse_uuid(value: str | uuid.UUID, what: str) -> uuid.UUID:
    """Parse an id from a URL or payload; a malformed id is simply an unknown one (404)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"no {what} with id '{value}'") from None
