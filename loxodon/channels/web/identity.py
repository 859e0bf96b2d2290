"""Identity tokens: how the company's own web site tells Loxodon who a visitor is.

The site's server, where the customer is signed in, makes a token with the property's
`identity_secret` and gives it to the page (widget/beacon). Without a valid token a visitor is
an anonymous visitor, whatever they type into a form.

Format (documented for integrators in docs/integrations/web.md):

    body    = base64url(payload_json)
    token   = body + "." + base64url(HMAC-SHA256(key=identity_secret, message=body))
    payload = {"email": "...", "account_number": "...", "name": "...", "exp": <unix seconds>}

At least one of `email` / `account_number` is required; `exp` is required and at most
24 hours ahead. base64url is without padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from loxodon.channels.web.models import WebProperty
from loxodon.core.errors import InvalidInput
from loxodon.customers.models import Customer, IdentityKind
from loxodon.customers.normalise import normalise_identity
from loxodon.customers.resolution.base import ResolutionQuery
from loxodon.customers.resolution.exact import ExactIdentifierMatcher
from loxodon.customers.services import create_customer

MAX_TOKEN_CHARS = 2048
MAX_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class VisitorIdentity:
    email: str | None
    account_number: str | None
    name: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_identity(secret: str, payload: dict[str, Any]) -> str:
    """Make a token (what the company's server does; used by tests and the docs' example)."""
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(sig)}"


def verify_identity(prop: WebProperty, token: str, *, now: float | None = None) -> VisitorIdentity:
    """The visitor a valid token names; InvalidInput (400) says why a token is refused."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidInput("identity token is malformed")
    body, sig = token.split(".")
    expected = hmac.new(prop.identity_secret.encode(), body.encode(), hashlib.sha256).digest()
    try:
        given = _unb64(sig)
        payload = json.loads(_unb64(body))
    except ValueError:
        raise InvalidInput("identity token is malformed") from None
    if not hmac.compare_digest(given, expected):
        raise InvalidInput("identity token signature is not valid for this web property")
    if not isinstance(payload, dict):
        raise InvalidInput("identity token payload must be an object")
    now = time.time() if now is None else now
    exp = payload.get("exp")
    if not isinstance(exp, int | float) or exp < now:
        raise InvalidInput("identity token has expired (or has no exp)")
    if exp > now + MAX_LIFETIME_SECONDS:
        raise InvalidInput("identity token lives too long: exp must be within 24 hours")
    email, account = payload.get("email"), payload.get("account_number")
    if not (isinstance(email, str) and email) and not (isinstance(account, str) and account):
        raise InvalidInput("identity token names no customer: give email or account_number")
    name = payload.get("name")
    return VisitorIdentity(
        email=email if isinstance(email, str) and email else None,
        account_number=account if isinstance(account, str) and account else None,
        name=name if isinstance(name, str) and name else None,
    )


def customer_for_visitor(prop: WebProperty, who: VisitorIdentity) -> Customer | None:
    """The customer a verified identity token names, created if the company's site knows them
    and we do not yet. None when the identifiers point at different customers (ambiguous):
    the visitor then stays anonymous rather than being attached to a guess.

    The company's site vouches for the email it signs, so a new customer's identifiers are
    created verified; existing identities are never re-pointed here (that is merging).
    """
    query = ResolutionQuery(
        email=normalise_identity(IdentityKind.EMAIL, who.email) if who.email else None,
        account_number=(
            normalise_identity(IdentityKind.ACCOUNT_NUMBER, who.account_number)
            if who.account_number
            else None
        ),
    )
    resolution = ExactIdentifierMatcher().match(query)
    if resolution.customer_id is not None:
        return Customer.objects.get(pk=resolution.customer_id)
    if resolution.candidates:
        return None
    return create_customer(
        name=who.name or who.email or who.account_number or "Web visitor",
        email=who.email,
        account_number=who.account_number,
        verified=True,
        site=prop.site,
        source=f"web:{prop.public_key}",
    )
