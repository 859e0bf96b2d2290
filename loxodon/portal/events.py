"""The timeline events the portal writes (through `timeline.services.record_event`)."""

from __future__ import annotations

from loxodon.cases.models import Case
from loxodon.core.event_types import Channel
from loxodon.customers.models import Customer
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event

# --- contact details (portal/profile.py): shown to the customer, never holding a token ---------

FIELD_LABELS = {
    "phone": "Phone number",
    "address": "Address",
    "email": "Email address",
}


def contact_details_changed(
    customer: Customer, *, field: str, old: str, new: str, how: str = "by you in the portal"
) -> Event:
    """The customer changed one of their contact details: what, from what, to what."""
    label = FIELD_LABELS[field]
    return record_event(
        customer_id=customer.pk,
        kind="contact_details_changed",
        channel=Channel.WEB,
        summary=f"{label} changed {how}: {old or '(none)'} → {new or '(none)'}",
        payload={"field": field, "old": old, "new": new, "source": "portal"},
    )


# --- end of contact details events ------------------------------------------------------------


# --- my picture (portal/services.py): the customer's words on a case ----------------------------


def portal_message(
    customer: Customer,
    case: Case,
    text: str,
    *,
    attachment: tuple[str, int] | None = None,
    not_fixed: bool = False,
    written_by: Customer | None = None,
) -> Event:
    """An inbound message from the customer on their case, written in the portal (web). On the
    case's customer's timeline; `written_by` is their business account's admin when it was them."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    lead = "Still not fixed" if not_fixed else "Message from the customer"
    payload: dict[str, object] = {"direction": "inbound", "source": "portal"}
    if not_fixed:
        payload["not_fixed"] = True
    if written_by is not None and written_by.pk != customer.pk:
        payload["written_by"] = {"customer_id": str(written_by.pk), "name": written_by.name}
        lead += f" by {written_by.name}"
    if attachment is not None:
        payload["attachment"] = {"filename": attachment[0], "size": attachment[1]}
    return record_event(
        customer_id=customer.pk,
        case_id=case.pk,
        kind="message",
        channel=Channel.WEB,
        summary=f"{lead} (portal): {first[:200]}",
        body=text,
        payload=payload,
        site=case.site,
    )


# --- end of my picture events ----------------------------------------------------------------
