"""Portal sign-in services: logins, magic links, passwords.

A link token is `secrets.token_urlsafe(32)` (256 random bits); only its SHA-256 is stored. The
link puts the token in the URL *fragment* (`/portal/sign-in/link#<token>`), which browsers never
send to a server nor in a Referer: the page reads it with a few lines of JS and POSTs it. Tokens
are never logged; log lines name the link or login id instead.

Answers never tell whether an address has a login (no account enumeration): the caller shows the
same "check your inbox" page either way. Rate limits are the views' job (they hold the request).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from loxodon.core.errors import Conflict, DomainError, InvalidInput
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.normalise import normalise_email
from loxodon.customers.services import add_identity
from loxodon.portal.models import MagicLink, PortalLogin

log = logging.getLogger("loxodon.portal.auth")

# A hash Django's hashers accept, so an unknown address costs as much time as a wrong password.
_DUMMY_PASSWORD = make_password(None)


class SignInRefused(DomainError):
    """One generic refusal: unknown, used, expired, wrong password — never which."""

    def __init__(self) -> None:
        super().__init__("That sign-in did not work. Ask for a new link and try again.")


def link_lifetime() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "LOXODON_PORTAL_LINK_MINUTES", 15)))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """(token, its SHA-256): 32 random bytes, URL-safe."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def public_url(path: str) -> str:
    return f"{str(settings.LOXODON_PUBLIC_URL).rstrip('/')}{path}"


_senders: list[threading.Thread] = []
_senders_lock = threading.Lock()


def send_mail_on_commit(
    *, to: str, subject: str, template: str, context: dict[str, object]
) -> None:
    """Render now, send once the transaction commits (nothing is mailed for a rolled-back write).

    The SMTP conversation runs in a background thread (`LOXODON_PORTAL_MAIL_IN_BACKGROUND`,
    default on), so answering "check your inbox" takes as long for an address with a login as
    for one without: the response time does not tell which addresses have accounts. Not a task
    queue: a queued task would store the token in the database. A delivery failure is logged
    (without the body: it may hold a token) and not raised: the customer can ask again."""
    body = render_to_string(template, context)
    message = EmailMessage(subject=subject, body=body, to=[to])

    def send() -> None:
        try:
            message.send()
        except Exception as exc:  # SMTP down, refused recipient...
            log.error("portal mail %r not sent: %s", subject, type(exc).__name__)

    def start() -> None:
        if not getattr(settings, "LOXODON_PORTAL_MAIL_IN_BACKGROUND", True):
            send()
            return
        thread = threading.Thread(target=send, name="portal-mail", daemon=False)
        with _senders_lock:
            _senders[:] = [t for t in _senders if t.is_alive()]
            _senders.append(thread)
        thread.start()

    transaction.on_commit(start)


def wait_for_mail(timeout: float = 30.0) -> None:
    """Wait until every portal mail started so far has been handed to the SMTP server."""
    with _senders_lock:
        pending = list(_senders)
    for thread in pending:
        thread.join(timeout)


def org_name() -> str:
    return str(getattr(settings, "LOXODON_ORG_NAME", "Loxodon"))


# --- logins ------------------------------------------------------------------------------------


@transaction.atomic
def create_portal_login(
    *,
    customer: Customer,
    email: str,
    password: str | None = None,
    is_account_admin: bool = False,
) -> PortalLogin:
    """A portal login for `customer`, signing in with `email` (verified for them, or now).

    Refuses an address verified for another customer, a merged-away customer, and a second
    login on the same address. `password` (optional) goes through Django's validators."""
    value = normalise_email(email)
    if customer.merged_into_id is not None:
        raise Conflict("this customer was merged into another: create the login on that one")
    if password:
        _validate_password(password, customer)
    # add_identity refuses an address verified for someone else (Conflict) and locks the customer
    identity, _ = add_identity(
        customer=customer, kind=IdentityKind.EMAIL, value=value, verified=True, source="portal"
    )
    if PortalLogin.objects.filter(identity=identity).exists():
        raise Conflict(f"{value} already has a portal login")
    login = PortalLogin.objects.create(
        customer=customer,
        identity=identity,
        password=make_password(password) if password else "",
        is_account_admin=is_account_admin,
    )
    log.info("portal login %s created for customer %s", login.pk, customer.pk)
    return login


def _validate_password(password: str, customer: Customer) -> None:
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None


def login_for_email(email: str) -> PortalLogin | None:
    """The active login signing in with this address, or None (also for an invalid address)."""
    try:
        value = normalise_email(email)
    except InvalidInput:
        return None
    return (
        PortalLogin.objects.select_related("customer", "identity")
        .filter(
            identity__kind=IdentityKind.EMAIL,
            identity__value=value,
            identity__verified=True,
            is_active=True,
            customer__merged_into__isnull=True,
        )
        .first()
    )


# --- magic links -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedLink:
    link: MagicLink
    token: str  # the secret: goes into the email only

    @property
    def url(self) -> str:
        return public_url(f"/portal/sign-in/link#{self.token}")


def issue_link(*, purpose: str, email: str, login: PortalLogin | None) -> IssuedLink:
    token, token_digest = new_token()
    link = MagicLink.objects.create(
        purpose=purpose,
        login=login,
        email=email,
        token_digest=token_digest,
        expires_at=timezone.now() + link_lifetime(),
    )
    return IssuedLink(link=link, token=token)


@transaction.atomic
def request_sign_in_link(email: str, *, ip: str) -> None:
    """Email a sign-in link if `email` has a login; otherwise do nothing. Same answer either way."""
    login = login_for_email(email)
    if login is None:
        log.info("portal sign-in link asked for an address without a login (from %s)", ip)
        return
    issued = issue_link(purpose=MagicLink.Purpose.SIGN_IN, email=login.email, login=login)
    minutes = int(link_lifetime().total_seconds() // 60)
    send_mail_on_commit(
        to=login.email,
        subject=f"Your sign-in link for {org_name()}",
        template="portal/emails/sign_in_link.txt",
        context={
            "name": login.customer.first_name or login.customer.name,
            "url": issued.url,
            "code": issued.token,
            "minutes": minutes,
            "org_name": org_name(),
            "code_page": public_url("/portal/sign-in/link"),
        },
    )
    log.info("portal sign-in link %s sent to login %s (from %s)", issued.link.pk, login.pk, ip)


def consume_link(token: str, purpose: str) -> MagicLink:
    """Mark the link used under its row lock (caller's transaction); SignInRefused otherwise."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        raise SignInRefused()
    link = (
        # of=self: the login is a nullable join, which PostgreSQL will not lock FOR UPDATE
        MagicLink.objects.select_for_update(of=("self",))
        .select_related("login", "login__customer", "login__identity")
        .filter(token_digest=digest(token), purpose=purpose)
        .first()
    )
    if link is None or not link.is_usable():
        if link is not None:
            log.info("portal link %s refused: used or expired", link.pk)
        raise SignInRefused()
    link.used_at = timezone.now()
    link.save(update_fields=["used_at", "updated_at"])
    return link


@transaction.atomic
def use_sign_in_link(token: str) -> PortalLogin:
    """The login a sign-in link opens; single use. SignInRefused: unknown, used or expired."""
    link = consume_link(token, MagicLink.Purpose.SIGN_IN)
    login = link.login
    if (
        login is None
        or not login.is_active
        or not login.identity.verified
        or login.identity.value != link.email
        or login.customer.merged_into_id is not None
    ):
        log.info("portal link %s refused: its login can no longer sign in", link.pk)
        raise SignInRefused()
    log.info("portal link %s used by login %s", link.pk, login.pk)
    return login


# --- passwords ---------------------------------------------------------------------------------


def sign_in_with_password(email: str, password: str) -> PortalLogin:
    """The login for email + password; SignInRefused for any mismatch (same timing either way)."""
    login = login_for_email(email)
    if login is None or not login.password:
        check_password(password, _DUMMY_PASSWORD)
        raise SignInRefused()
    if not check_password(password, login.password):
        log.info("portal login %s: wrong password", login.pk)
        raise SignInRefused()
    return login


@transaction.atomic
def set_password(login: PortalLogin, *, new_password: str, current_password: str = "") -> None:
    """Set or change the login's password; changing one needs the current one."""
    locked = PortalLogin.objects.select_for_update().get(pk=login.pk)
    if locked.password and not check_password(current_password, locked.password):
        raise InvalidInput("The current password is not right.")
    _validate_password(new_password, locked.customer)
    locked.password = make_password(new_password)
    locked.save(update_fields=["password", "updated_at"])
    login.password = locked.password
    log.info("portal login %s: password set", login.pk)


def verified_email_owner(value: str) -> Identity | None:
    return (
        Identity.objects.filter(kind=IdentityKind.EMAIL, value=value, verified=True)
        .select_related("customer")
        .first()
    )
