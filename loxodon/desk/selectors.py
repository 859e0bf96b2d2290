"""Reads the desk composes from several contexts: search and "what the customer told us"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.access import require_staff
from loxodon.customers.models import Account, Customer, Merge
from loxodon.customers.selectors import list_customers, merges_of
from loxodon.org.models import Role
from loxodon.timeline.models import Event

TOLD_US_HOURS = 24
IVR_FIELDS = {
    "account_number_entered": "Account number entered",
    "verified": "Verified",
    "intent": "Reason for calling",
    "menu_path": "Menu path",
    "caller_number": "Calling from",
    "dialled_line": "Line dialled",
}


@dataclass(frozen=True)
class SearchResults:
    query: str
    customers: list[Customer] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.customers) + len(self.cases) + len(self.accounts)


def search(user: Any, q: str, limit: int = 10) -> SearchResults:
    """One box: name, email, phone in any format, account number, case id or account name."""
    require_staff(user)
    q = (q or "").strip()
    if not q:
        return SearchResults(query="")
    customers = list_customers(user, q=q, limit=limit).items
    cases: list[Case] = []
    try:
        case_id = uuid.UUID(q.strip("#"))
    except ValueError:
        case_id = None
    if case_id is not None:
        cases = list(Case.objects.filter(pk=case_id).select_related("customer", "owner"))
    if len(q) >= 3:
        cases += list(
            Case.objects.filter(problem__icontains=q)
            .select_related("customer", "owner")
            .order_by("-updated_at")[:limit]
        )
    accounts = (
        list(
            Account.objects.filter(name__icontains=q)
            .prefetch_related(  # records merged away are not contacts any more
                Prefetch("contacts", queryset=Customer.objects.filter(merged_into__isnull=True))
            )
            .order_by("name")[:limit]
        )
        if len(q) >= 2
        else []
    )
    return SearchResults(query=q, customers=customers, cases=cases[:limit], accounts=accounts)


@dataclass(frozen=True)
class ToldUs:
    """What the customer already told us on this contact: shown first, never asked again."""

    ivr: Event | None
    ivr_answers: list[tuple[str, str]]
    verified: bool | None
    web: list[Event]
    contact: Event | None

    @property
    def empty(self) -> bool:
        return self.ivr is None and not self.web and self.contact is None


def told_us(user: Any, customer_id: uuid.UUID) -> ToldUs:
    """Recent IVR inputs, verification and web activity from the timeline (one query)."""
    require_staff(user)
    since = timezone.now() - timedelta(hours=TOLD_US_HOURS)
    recent = list(
        Event.objects.filter(
            customer_id=customer_id,
            occurred_at__gte=since,
            channel__in=("ivr", "web", "phone", "chat", "email"),
        )
        .select_related("site")
        .order_by("-occurred_at", "-id")[:30]
    )
    # IVR answers: an "ivr" event from another system, or a call whose IVR step completed
    ivr = next(
        (e for e in recent if e.channel == "ivr" or (e.kind == "call" and "verified" in e.payload)),
        None,
    )
    answers: list[tuple[str, str]] = []
    verified: bool | None = None
    if ivr is not None:
        for key, label in IVR_FIELDS.items():
            if key in ivr.payload:
                value = ivr.payload[key]
                if key == "verified":
                    verified = bool(value)
                    value = "yes" if value else "no"
                answers.append((label, ", ".join(value) if isinstance(value, list) else str(value)))
    web = [e for e in recent if e.channel == "web"][:6]
    contact = next((e for e in recent if e.channel in ("phone", "chat", "email")), None)
    return ToldUs(ivr=ivr, ivr_answers=answers, verified=verified, web=web, contact=contact)


@dataclass(frozen=True)
class MergeHistory:
    """Merges into and out of a customer for the customer page (one query)."""

    customer: Customer
    merges: list[Merge]
    may_unmerge: bool

    @property
    def merged_from(self) -> list[Merge]:
        """Records merged into this customer and still merged."""
        return [m for m in self.merges if m.survivor_id == self.customer.pk and not m.is_undone]


def merge_history(user: Any, customer: Customer) -> MergeHistory:
    require_staff(user)
    return MergeHistory(
        customer=customer,
        merges=merges_of(user, customer),
        may_unmerge=user.role in (Role.SUPERVISOR, Role.ADMIN) or user.is_admin_role,
    )
