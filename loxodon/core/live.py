"""Live notifications to open desk pages, over the Channels layer.

Services call these *after commit* (`transaction.on_commit`), so a page never shows something
that was rolled back. Messages carry ids only; each desk connection re-reads what it shows
through the normal access-checked selectors. Publishing never breaks a write: failures are logged.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def customer_group(customer_id: uuid.UUID | str) -> str:
    return f"customer.{uuid.UUID(str(customer_id)).hex}"


def case_group(case_id: uuid.UUID | str) -> str:
    return f"case.{uuid.UUID(str(case_id)).hex}"


def agent_group(user_id: uuid.UUID | str) -> str:
    return f"agent.{uuid.UUID(str(user_id)).hex}"


def _send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send every message in one hop to the channel layer (one event-loop round trip)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send() -> None:
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        async_to_sync(send)()
    except Exception:  # a lost notification must never undo or fail a committed write
        log.exception("live notification to %s group(s) failed", len(messages))


def publish_events(rows: Iterable[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID]]) -> None:
    """Tell open customer and case pages about new events: rows of (customer, case, event)."""
    by_customer: dict[uuid.UUID, list[str]] = defaultdict(list)
    by_case: dict[uuid.UUID, list[str]] = defaultdict(list)
    for customer_id, case_id, event_id in rows:
        by_customer[customer_id].append(str(event_id))
        if case_id is not None:
            by_case[case_id].append(str(event_id))
    messages = [
        (customer_group(cid), {"type": "timeline.events", "event_ids": ids})
        for cid, ids in by_customer.items()
    ] + [
        (case_group(cid), {"type": "timeline.events", "event_ids": ids})
        for cid, ids in by_case.items()
    ]
    _send_all(messages)


def screen_pop(
    user_id: uuid.UUID,
    *,
    customer_id: uuid.UUID,
    reason: str,
    detail: str = "",
    facts: dict[str, Any] | None = None,
) -> None:
    """Pop the customer's 360 view on an agent's desk (e.g. a call routed to them).

    `facts` (plain JSON) is what the caller already told us, shown on the pop so nobody asks
    again; for a call: `ivr_completed`, `verified`, `account_number`, `menu_path`, `intent`,
    `caller`, `dialled`, `note` (see `channels.voice.services.screen_pop_facts`).
    """
    message = {
        "type": "screen.pop",
        "customer_id": str(customer_id),
        "reason": reason,
        "detail": detail,
        "facts": facts or {},
    }
    _send_all([(agent_group(user_id), message)])
