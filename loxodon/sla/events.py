"""The timeline events the sla app writes (internal kinds: staff only)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from loxodon.cases.models import Case
from loxodon.org.models import User
from loxodon.sla.clock import TargetClock
from loxodon.sla.models import TARGET_LABELS
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event


def _local(case: Case, at: datetime | None) -> str:
    if at is None:
        return "-"
    zone = ZoneInfo(case.site.time_zone if case.site else "UTC")
    return at.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def _payload(target: TargetClock, standard_id: str | None) -> dict[str, object]:
    return {
        "target": target.target,
        "since": target.since.isoformat(),
        "due_at": target.due_at.isoformat() if target.due_at else None,
        "standard_id": standard_id,
    }


def warned(case: Case, target: TargetClock, standard_id: str | None) -> Event:
    label = TARGET_LABELS[target.target]
    return record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="sla_warning",
        summary=f"{label} due {_local(case, target.due_at)}: about to be missed",
        site=case.site,
        payload={"case_id": str(case.pk), **_payload(target, standard_id)},
    )


def breached(case: Case, target: TargetClock, standard_id: str | None) -> Event:
    label = TARGET_LABELS[target.target]
    late = " (answered late)" if target.met_at else ""
    return record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="sla_breached",
        summary=f"{label} missed: was due {_local(case, target.due_at)}{late}",
        site=case.site,
        payload={"case_id": str(case.pk), **_payload(target, standard_id)},
    )


def escalated(
    case: Case,
    target: TargetClock,
    standard_id: str | None,
    notified: list[User],
    reassigned_to: User | None,
) -> Event:
    label = TARGET_LABELS[target.target]
    who = ", ".join(u.display_name for u in notified) or "no supervisor at this site"
    body = f"Notified: {who}."
    if reassigned_to is not None:
        body += f" Case handed to {reassigned_to.display_name}."
    return record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="sla_escalated",
        summary=f"Escalated: {label.lower()} missed",
        body=body,
        site=case.site,
        payload={
            "case_id": str(case.pk),
            **_payload(target, standard_id),
            "notified": [u.username for u in notified],
            "reassigned_to": reassigned_to.username if reassigned_to else None,
        },
    )
