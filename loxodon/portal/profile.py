"""The customer's own contact details, changed from the portal.

Each change is one transaction under the customer's row lock, normalised like the rest of the
system (`customers.normalise`), and writes a `contact_details_changed` event on their timeline
(old → new; the customer sees it).

Phone: the customer's phone is their newest phone identity (verified first). A new number is
added unverified (the customer typed it, nobody proved it) and the number it replaces is removed:
the customer has told us it is no longer theirs, so it must stop matching them; the event keeps
the history.

Email: a new address must be proved first. `request_email_change` mails a confirm link (token in
the URL fragment, digest stored) to the new address and a notice to the old one. Only
`confirm_email_change` moves the login to the new, now verified, identity; the old identity is
kept but marked unverified: mail from the old address still lands on this customer's timeline
(history, matching), but it no longer signs in and no longer blocks anyone else from proving it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.normalise import normalise_email, normalise_phone, normalise_postcode
from loxodon.customers.services import add_identity
from loxodon.portal import events
from loxodon.portal.auth import (
    SignInRefused,
    consume_link,
    issue_link,
    link_lifetime,
    org_name,
    public_url,
    send_mail_on_commit,
    verified_email_owner,
)
from loxodon.portal.models import MagicLink, PortalLogin

log = logging.getLogger("loxodon.portal.profile")

MAX_STREET, MAX_CITY, MAX_POSTCODE = 200, 100, 16


def _lock(customer: Customer) -> Customer:
    no_key = connection.features.has_select_for_no_key_update
    locked = Customer.objects.select_for_update(no_key=no_key).filter(pk=customer.pk).first()
    if locked is None or locked.merged_into_id is not None:
        raise NotFound("this customer record is no longer in use")
    return locked


def current_phone(customer: Customer) -> Identity | None:
    return (
        Identity.objects.filter(customer=customer, kind=IdentityKind.PHONE)
        .order_by("-verified", "-created_at")
        .first()
    )


def current_email(login: PortalLogin) -> str:
    return login.identity.value


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str
    country: str

    def __str__(self) -> str:
        return ", ".join(p for p in (self.street, self.city, self.postcode, self.country) if p)


def address_of(customer: Customer) -> Address:
    return Address(customer.street, customer.city, customer.postcode, customer.country)


@transaction.atomic
def change_phone(login: PortalLogin, raw: str) -> Identity:
    """Replace the customer's phone number with `raw` (any written form; stored as E.164)."""
    if not raw or not raw.strip():
        raise InvalidInput("Enter a phone number.")
    value = normalise_phone(raw.strip(), login.customer.country or None)
    customer = _lock(login.customer)
    old = current_phone(customer)
    if old is not None and old.value == value:
        raise InvalidInput("That is already your phone number.")
    new, _ = add_identity(customer=customer, kind=IdentityKind.PHONE, value=value, source="portal")
    if old is not None:
        old.delete()
    events.contact_details_changed(customer, field="phone", old=old.value if old else "", new=value)
    log.info("portal login %s changed the customer's phone", login.pk)
    return new


@transaction.atomic
def change_address(
    login: PortalLogin, *, street: str, city: str, postcode: str, country: str
) -> Customer:
    """Correct the customer's postal address (the customer confirmed it: profile_verified)."""
    street, city = street.strip(), city.strip()
    postcode = normalise_postcode(postcode) if postcode.strip() else ""
    country = country.strip().upper()
    if not street or not city:
        raise InvalidInput("Enter at least the street and the town or city.")
    if len(street) > MAX_STREET or len(city) > MAX_CITY or len(postcode) > MAX_POSTCODE:
        raise InvalidInput("That address is too long.")
    if country and (len(country) != 2 or not country.isalpha()):
        raise InvalidInput("Country must be a two-letter code, e.g. GB or DE.")
    customer = _lock(login.customer)
    before = address_of(customer)
    after = Address(street, city, postcode, country or customer.country)
    if after == before:
        raise InvalidInput("That is already your address.")
    customer.street, customer.city = after.street, after.city
    customer.postcode, customer.country = after.postcode, after.country
    customer.profile_verified = True
    customer.profile_updated_at = timezone.now()
    customer.save(
        update_fields=[
            "street",
            "city",
            "postcode",
            "country",
            "profile_verified",
            "profile_updated_at",
            "updated_at",
        ]
    )
    login.customer = customer
    events.contact_details_changed(customer, field="address", old=str(before), new=str(after))
    log.info("portal login %s changed the customer's address", login.pk)
    return customer


def mask_email(value: str) -> str:
    """n***@example.com: enough to recognise, not enough to harvest."""
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


@transaction.atomic
def request_email_change(login: PortalLogin, raw: str) -> None:
    """Mail a confirm link to the new address and a notice to the old one."""
    value = normalise_email(raw)
    if value == login.identity.value:
        raise InvalidInput("That is already your email address.")
    owner = verified_email_owner(value)
    if owner is not None and owner.customer_id != login.customer_id:
        raise Conflict(
            "That email address belongs to another customer record. "
            "Please contact us and we will sort it out."
        )
    _lock(login.customer)
    issued = issue_link(purpose=MagicLink.Purpose.CONFIRM_EMAIL, email=value, login=login)
    minutes = int(link_lifetime().total_seconds() // 60)
    name = login.customer.first_name or login.customer.name
    send_mail_on_commit(
        to=value,
        subject=f"Confirm your new email address for {org_name()}",
        template="portal/emails/confirm_email.txt",
        context={
            "name": name,
            "url": public_url(f"/portal/account/confirm-email#{issued.token}"),
            "code": issued.token,
            "minutes": minutes,
            "org_name": org_name(),
        },
    )
    send_mail_on_commit(
        to=login.identity.value,
        subject=f"Your email address for {org_name()} is being changed",
        template="portal/emails/email_change_notice.txt",
        context={"name": name, "masked": mask_email(value), "org_name": org_name()},
    )
    log.info("portal login %s asked to change its email (link %s)", login.pk, issued.link.pk)


@transaction.atomic
def confirm_email_change(login: PortalLogin, token: str) -> Identity:
    """Use a confirm link of this login: the new address becomes its verified sign-in identity."""
    link = consume_link(token, MagicLink.Purpose.CONFIRM_EMAIL)
    if link.login_id != login.pk:
        log.info("portal link %s refused: belongs to another login", link.pk)
        raise SignInRefused()
    customer = _lock(login.customer)
    locked = (
        PortalLogin.objects.select_for_update(of=("self",))
        .select_related("identity")
        .get(pk=login.pk)
    )
    old = locked.identity
    try:
        new, _ = add_identity(
            customer=customer,
            kind=IdentityKind.EMAIL,
            value=link.email,
            verified=True,
            source="portal",
        )
    except Conflict:
        raise Conflict(
            "That email address belongs to another customer record. "
            "Please contact us and we will sort it out."
        ) from None
    if PortalLogin.objects.filter(identity=new).exclude(pk=locked.pk).exists():
        raise Conflict("That email address already signs in to another portal login.")
    locked.identity = new
    locked.save(update_fields=["identity", "updated_at"])
    old.verified = False
    old.save(update_fields=["verified", "updated_at"])
    login.identity = new
    events.contact_details_changed(customer, field="email", old=old.value, new=new.value)
    log.info("portal login %s confirmed its new email (link %s)", login.pk, link.pk)
    return new
