"""Reads of the outbox, each behind the access check (staff see every case's messages)."""

from __future__ import annotations

import uuid
from typing import Any

from loxodon.cases.models import Case
from loxodon.core.access import require_staff
from loxodon.core.errors import NotFound
from loxodon.core.ids import parse_uuid
from loxodon.outbound.models import OutboundMessage


def messages_of_case(user: Any, case: Case) -> list[OutboundMessage]:
    """The case's outbox, newest first, in one query (the case page's panel and the API)."""
    require_staff(user)
    return list(
        OutboundMessage.objects.filter(case_id=case.pk)
        .select_related("author", "department", "digest")
        .order_by("-created_at", "-id")
    )


def get_message_for(user: Any, message_id: str | uuid.UUID) -> OutboundMessage:
    require_staff(user)
    pk = parse_uuid(message_id, "message")
    message = (
        OutboundMessage.objects.select_related("author", "department", "digest")
        .filter(pk=pk)
        .first()
    )
    if message is None:
        raise NotFound(f"no message with id '{message_id}'")
    return message
