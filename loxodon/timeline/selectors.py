"""Reads of the timeline: keyset-paged, newest first, behind the access check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from loxodon.core.access import require_staff
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput
from loxodon.core.event_types import KINDS, Channel
from loxodon.timeline.models import Asset, Event

DEFAULT_PAGE = 50
MAX_PAGE = 200


@dataclass(frozen=True)
class TimelinePage:
    items: list[Event]
    next_cursor: str | None


def timeline_page(
    user: Any,
    customer_id: uuid.UUID,
    *,
    cursor: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_PAGE,
    include_internal: bool = True,
) -> TimelinePage:
    """One page of a customer's timeline, newest first, in one query whatever its length."""
    require_staff(user)
    if channel and channel not in Channel.ALL:
        raise InvalidInput(f"unknown channel '{channel}'; use one of: {', '.join(Channel.ALL)}")
    if kind and kind not in KINDS:
        raise InvalidInput(f"unknown kind '{kind}'; use one of: {', '.join(sorted(KINDS))}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    qs = _page_query(customer_id, cursor, channel, kind, include_internal)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more and rows else None
    return TimelinePage(items=rows, next_cursor=next_cursor)


def _page_query(
    customer_id: uuid.UUID,
    cursor: str | None,
    channel: str | None,
    kind: str | None,
    include_internal: bool,
) -> QuerySet[Event]:
    """The query behind `timeline_page` (callers check access first). Its plan is pinned by
    `timeline/tests/test_query_plan.py`: an index walk, newest first, never a scan or a sort."""
    qs = Event.objects.filter(customer_id=customer_id)
    if channel:
        qs = qs.filter(channel=channel)
    if kind:
        qs = qs.filter(kind=kind)
    if not include_internal:
        qs = qs.filter(internal=False)
    if cursor:
        at, pk = decode_cursor(cursor)
        # `occurred_at <= at` on its own gives both databases a range to seek to in the index;
        # the OR alone made SQLite walk the customer's newest events down to the cursor.
        qs = qs.filter(occurred_at__lte=at).filter(Q(occurred_at__lt=at) | Q(id__lt=pk))
    return qs.select_related("site", "actor").order_by("-occurred_at", "-id")


def assets_of_customer(user: Any, customer_id: uuid.UUID) -> list[Asset]:
    require_staff(user)
    return list(
        Asset.objects.filter(customer_id=customer_id)
        .select_related("site")
        .order_by("-purchased_at", "-created_at")
    )
