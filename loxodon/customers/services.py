"""Every write to customers, accounts and identities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from django.db import IntegrityError, transaction

from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.customers.models import (
    STRONG_KINDS,
    Account,
    Customer,
    Identity,
    IdentityKind,
    MatchReview,
    Merge,
)
from loxodon.customers.normalise import normalise_identity, normalise_postcode
from loxodon.org.models import Site

if TYPE_CHECKING:
    from loxodon.org.models import User


def _split_name(name: str) -> tuple[str, str]:
    parts = name.strip().split()
    if len(parts) < 2:
        return (parts[0] if parts else "", "")
    return " ".join(parts[:-1]), parts[-1]


def _account_for(spec: dict[str, Any] | None) -> Account | None:
    if not spec:
        return None
    if spec.get("id"):
        try:
            return Account.objects.get(pk=spec["id"])
        except (Account.DoesNotExist, ValueError):
            raise NotFound(f"no account with id '{spec['id']}'") from None
    name = (spec.get("name") or "").strip()
    if not name:
        raise InvalidInput("account needs an id or a name")
    existing = Account.objects.filter(name__iexact=name).order_by("created_at").first()
    if existing is not None:
        return existing
    return Account.objects.create(
        name=name,
        industry=spec.get("industry") or "",
        size=spec.get("size") or "",
        notes=spec.get("notes") or "",
        key_contacts=spec.get("key_contacts") or [],
    )


def _check_not_verified_elsewhere(kind: str, value: str, customer: Customer | None) -> None:
    if kind not in STRONG_KINDS:
        return
    clash = Identity.objects.filter(kind=kind, value=value, verified=True)
    if customer is not None:
        clash = clash.exclude(customer=customer)
    owner = clash.values_list("customer_id", flat=True).first()
    if owner is not None:
        raise Conflict(
            f"{kind} '{value}' is already verified for another customer",
            customer_id=str(owner),
        )


@transaction.atomic
def create_customer(
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    account_number: str | None = None,
    account: dict[str, Any] | None = None,
    site: Site | None = None,
    verified: bool = False,
    date_of_birth: date | None = None,
    street: str = "",
    city: str = "",
    postcode: str = "",
    source: str = "loxodon",
) -> Customer:
    """A new customer with their first identifiers.

    Account numbers are issued by us, so they are verified from the start; email and phone are
    verified only when the caller says so (the customer proved them).
    """
    if not name or not name.strip():
        raise InvalidInput("name must not be empty")
    identifiers: list[tuple[str, str, bool]] = []
    for kind, raw, is_verified in (
        (IdentityKind.EMAIL, email, verified),
        (IdentityKind.PHONE, phone, verified),
        (IdentityKind.ACCOUNT_NUMBER, account_number, True),
    ):
        if raw:
            value = normalise_identity(kind, raw)
            if is_verified:
                _check_not_verified_elsewhere(kind, value, None)
            identifiers.append((kind, value, is_verified))
    first, last = _split_name(name)
    customer = Customer.objects.create(
        name=name.strip(),
        first_name=first,
        last_name=last,
        account=_account_for(account),
        home_site=site,
        country=site.country if site else "",
        date_of_birth=date_of_birth,
        street=street,
        city=city,
        postcode=normalise_postcode(postcode) if postcode else "",
    )
    Identity.objects.bulk_create(
        Identity(customer=customer, kind=k, value=v, verified=ver, source=source, site=site)
        for k, v, ver in identifiers
    )
    return customer


def add_identity(
    *,
    customer: Customer,
    kind: str,
    value: str,
    verified: bool = False,
    source: str = "loxodon",
    site: Site | None = None,
) -> tuple[Identity, bool]:
    """Attach an identifier; repeating it is harmless. Returns (identity, created)."""
    normalised = normalise_identity(kind, value)
    with transaction.atomic():
        existing = (
            Identity.objects.select_for_update()
            .filter(customer=customer, kind=kind, value=normalised)
            .first()
        )
        if verified:
            _check_not_verified_elsewhere(kind, normalised, customer)
        if existing is not None:
            if verified and not existing.verified:
                existing.verified = True
                existing.save(update_fields=["verified", "updated_at"])
            return existing, False
        try:
            with transaction.atomic():
                identity = Identity.objects.create(
                    customer=customer,
                    kind=kind,
                    value=normalised,
                    verified=verified,
                    source=source,
                    site=site,
                )
        except IntegrityError:
            raise Conflict(
                f"{kind} '{normalised}' is already verified for another customer"
            ) from None
    return identity, True


def create_customers_for_contacts(
    contacts: Iterable[tuple[str, list[tuple[str, str]]]], *, source: str, site: Site | None
) -> list[Customer]:
    """New, unverified customers for contacts nobody recognised (one per (name, identifiers)).

    Called inside the caller's transaction by channel ingest; batch linkage later merges any
    that turn out to be the same person.
    """
    created = []
    for name, identifiers in contacts:
        first, last = _split_name(name)
        customer = Customer.objects.create(
            name=name, first_name=first, last_name=last, home_site=site
        )
        Identity.objects.bulk_create(
            Identity(customer=customer, kind=k, value=v, verified=False, source=source, site=site)
            for k, v in identifiers
        )
        created.append(customer)
    return created


# --- Merges (issue 5, point 4). The mechanics live in customers/merging.py. ---------------------

#: Profile fields decided by survivorship when two customers merge.
PROFILE_FIELDS = (
    "name",
    "first_name",
    "last_name",
    "date_of_birth",
    "street",
    "city",
    "postcode",
    "country",
    "account",
    "home_site",
)


@dataclass(frozen=True)
class FieldChange:
    """One profile field of the survivor as a merge would change (or keep) it.

    `losing_value` is the differing non-empty value that loses and goes to `profile_history`
    (None when nothing is lost). Values are JSON-friendly (ids for foreign keys, ISO dates).
    """

    field: str
    before: Any
    after: Any
    losing_value: Any = None


@dataclass
class MergePlan:
    """What merging `absorbed` into `survivor` would do; computed without writing anything.

    `moves` counts rows per "app_label.Model.field" label that would be re-pointed;
    `profile_after` is the survivor's profile afterwards; `changes` lists every profile field
    that differs between the two; `conflicts` are the losing values kept as history;
    `warnings` are things a reviewer should know (e.g. both have open cases).
    """

    survivor: Customer
    absorbed: Customer
    moves: dict[str, int] = field(default_factory=dict)
    profile_after: dict[str, Any] = field(default_factory=dict)
    changes: list[FieldChange] = field(default_factory=list)
    conflicts: list[FieldChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def choose_survivor(a: Customer, b: Customer) -> tuple[Customer, Customer]:
    """(survivor, absorbed): the verified profile, then more events and cases, then the older."""
    raise NotImplementedError


def plan_merge(*, survivor: Customer, absorbed: Customer) -> MergePlan:
    """What a merge would move and change; pure (no writes). Same rules as merge_customers."""
    raise NotImplementedError


def merge_customers(
    *,
    survivor: Customer,
    absorbed: Customer,
    by: User | None,
    reason: str,
    method: str = Merge.Method.MANUAL,
    score: float | None = None,
) -> Merge:
    """Absorb one customer into another in one transaction; returns the merge record.

    Locks both customers (by id order), re-points every row that references the absorbed
    customer, applies survivorship to the profile, hides the absorbed record
    (`merged_into`) and writes a staff-only timeline event. Conflict if either is already
    merged or they are the same customer; InvalidInput if the reason is empty.
    """
    raise NotImplementedError


def unmerge(*, merge: Merge, by: User | None, reason: str) -> tuple[Customer, Customer]:
    """Undo a merge exactly; returns (survivor, absorbed) as they are afterwards.

    Every moved row goes back, both profiles and identity verification flags are restored
    and that merge's history entries removed; rows created on the survivor since stay there.
    Conflict if the merge is already undone or a later merge depends on it.
    """
    raise NotImplementedError


def decide_review(
    *,
    review: MatchReview,
    by: User,
    decision: Literal["merge", "not_same"],
    note: str = "",
    survivor: Customer | None = None,
) -> MatchReview:
    """A person's decision on a pair from the review queue (supervisors and admins only).

    "merge" merges the pair (survivor chosen by `choose_survivor` unless given) with
    method=review; "not_same" is remembered so the pair is never suggested again.
    Conflict if already decided, or (marking it obsolete) if either was merged meanwhile.
    """
    raise NotImplementedError
