"""The one registry of timeline channels and event kinds.

Every app that writes events does so through its own `events.py` using these names; nothing else
invents kinds. `internal` kinds are staff-only and never reach customer-facing outputs.
"""

from __future__ import annotations

from dataclasses import dataclass


class Channel:
    PHONE = "phone"
    IVR = "ivr"
    EMAIL = "email"
    CHAT = "chat"
    SMS = "sms"
    WEB = "web"
    IN_PERSON = "in_person"
    LETTER = "letter"
    SYSTEM = "system"

    ALL = (PHONE, IVR, EMAIL, CHAT, SMS, WEB, IN_PERSON, LETTER, SYSTEM)
    CHOICES = [(c, c.replace("_", " ")) for c in ALL]


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    internal: bool = False  # staff-only: never shown to the customer
    contact: bool = False  # an interaction initiated by or with the customer (effort, alerts)
    transaction: bool = False


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        # interactions
        Kind("message", "Message", contact=True),
        Kind("call", "Call", contact=True),
        Kind("chat", "Chat", contact=True),
        Kind("visit", "Visit in person", contact=True),
        Kind("web_visit", "Web visit"),
        Kind("web_search", "Web search"),
        Kind("web_configuration", "Product configured on the web"),
        Kind("survey", "Survey"),
        Kind("repeat", "Customer had to repeat information", internal=True),
        # transactions
        Kind("order", "Order", transaction=True),
        Kind("return", "Return", transaction=True),
        Kind("shipment", "Shipment", transaction=True),
        Kind("warranty", "Warranty", transaction=True),
        Kind("invoice", "Invoice", transaction=True),
        Kind("asset", "Product registered", transaction=True),
        # case work (written by the cases app)
        Kind("case_opened", "Case opened"),
        Kind("status_change", "Case status changed"),
        Kind("task_added", "Task added"),
        Kind("task_completed", "Task completed"),
        Kind("handoff", "Handoff", internal=True),
        Kind("note", "Internal note", internal=True),
        Kind("message_not_sent", "Message to the customer not sent", internal=True),
        Kind("confirmation", "Customer confirmed resolution", contact=True),
        # service standards (written by the sla app) and surveys (insights)
        Kind("sla_warning", "Service standard about to be missed", internal=True),
        Kind("sla_breached", "Service standard missed", internal=True),
        Kind("sla_escalated", "Escalated: service standard missed", internal=True),
        Kind("survey_invited", "Survey sent"),
        # identity
        Kind("identity_added", "Identifier added", internal=True),
        Kind("customer_created", "Customer created", internal=True),
        Kind("customer_merged", "Customers merged", internal=True),
        Kind("customer_unmerged", "Merge undone", internal=True),
        # knowledge (written by the knowledge app)
        Kind("article_cited", "Knowledge article given to the customer"),
        Kind("exception_granted", "Policy exception granted", internal=True),
        Kind("exception_requested", "Policy exception waiting for approval", internal=True),
        Kind("exception_approved", "Policy exception approved", internal=True),
        Kind("exception_denied", "Policy exception denied", internal=True),
        Kind("exception_withdrawn", "Policy exception request withdrawn", internal=True),
        # the customer's own changes in the portal (shown to them: it is their own record)
        Kind("contact_details_changed", "Contact details changed"),
    )
}

INTERNAL_KINDS = frozenset(k.name for k in KINDS.values() if k.internal)
CONTACT_KINDS = frozenset(k.name for k in KINDS.values() if k.contact)


def is_known_kind(name: str) -> bool:
    return name in KINDS
