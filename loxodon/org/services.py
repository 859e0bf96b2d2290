"""Writes for the organisation: tokens (sites, departments and staff are set up by admins)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from loxodon.core.errors import NotFound
from loxodon.org.models import ApiToken, Department, Role, Site, User

TOKEN_PREFIX = "lox_"  # noqa: S105 - a label, not a secret


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(*, username: str, name: str = "") -> str:
    """Issue a token for an active member of staff; returns the raw token (shown once)."""
    try:
        user = User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise NotFound(f"no active staff user '{username}'") from None
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, digest=token_digest(raw), prefix=raw[:12])
    return raw


def record_token_use(*, token: ApiToken) -> None:
    """Stamp when a token was last used, at most once a minute (busy integrations stay cheap)."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke_api_token(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])


@transaction.atomic
def create_site(*, code: str, name: str, time_zone: str = "UTC", country: str = "GB") -> Site:
    site = Site(code=code, name=name, time_zone=time_zone, country=country)
    site.full_clean()
    site.save()
    return site


@transaction.atomic
def create_department(*, code: str, name: str) -> Department:
    dept = Department(code=code, name=name)
    dept.full_clean()
    dept.save()
    return dept


@transaction.atomic
def create_staff(
    *,
    username: str,
    password: str | None = None,
    role: str = Role.AGENT,
    site: Site | None = None,
    department: Department | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    user = User(
        username=username,
        role=role,
        site=site,
        department=department,
        first_name=first_name,
        last_name=last_name,
        email=email,
        # The admin role administers the system: Django admin access with every permission.
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user
