"""The timeline events the customers app writes: merges and their undoing (staff-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loxodon.core.event_types import Channel
from loxodon.customers.models import Merge

if TYPE_CHECKING:
    from loxodon.org.models import User
    from loxodon.timeline.models import Event


def _who(actor: User | None, method: str) -> str:
    if actor is not None:
        return actor.display_name
    return "linkage" if method == Merge.Method.AUTOMATIC else "the system"


def customer_merged(merge: Merge, actor: User | None) -> Event:
    # imported here: the timeline's ingest imports customers.services, which imports us
    from loxodon.timeline.services import record_events

    return record_events([_merged_event(merge, actor)])[0]


def customers_merged(merges: list[Merge], actor: User | None) -> list[Event]:
    """One `customer_merged` event per merge, written in bulk (`merge_clusters`)."""
    from loxodon.timeline.services import record_events

    return record_events([_merged_event(merge, actor) for merge in merges])


def _merged_event(merge: Merge, actor: User | None) -> Event:
    from loxodon.timeline.services import own_event

    absorbed = merge.absorbed
    score = f", score {merge.score:.3f}" if merge.score is not None else ""
    return own_event(
        customer_id=merge.survivor_id,
        kind="customer_merged",
        summary=f"Merged with {absorbed.name} ({merge.get_method_display().lower()}{score})",
        channel=Channel.SYSTEM,
        actor=actor,
        body=merge.reason,
        payload={
            "merge_id": str(merge.pk),
            "absorbed_id": str(merge.absorbed_id),
            "method": merge.method,
            "score": merge.score,
            "by": _who(actor, merge.method),
            "moved": {label: len(ids) for label, ids in merge.moved.items()},
        },
    )


def customer_unmerged(merge: Merge, actor: User | None) -> Event:
    from loxodon.timeline.services import record_event

    return record_event(
        customer_id=merge.survivor_id,
        kind="customer_unmerged",
        summary=f"Merge with {merge.absorbed.name} undone: records separated again",
        channel=Channel.SYSTEM,
        actor=actor,
        body=merge.undo_reason,
        payload={
            "merge_id": str(merge.pk),
            "absorbed_id": str(merge.absorbed_id),
            "by": _who(actor, merge.method),
        },
    )
