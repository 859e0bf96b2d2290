"""Every write to customers, accounts and identities."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction

from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.customers.models import STRONG_KINDS, Account, Customer, Identity, IdentityKind
from loxodon.customers.normalise import normalise_identity, normalise_postcode
from loxodon.org.models import Site


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
