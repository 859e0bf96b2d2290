from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from loxodon.core.access import require_staff
from loxodon.core.errors import NotFound
from loxodon.org.models import ApiToken, Department, Site, User
from loxodon.org.services import record_token_use, token_digest


def user_for_token(raw: str) -> User | None:
    """The active staff user a bearer token belongs to, or None (unknown, revoked, inactive)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    record_token_use(token=token)
    return token.user


def sites_for(user: Any) -> QuerySet[Site]:
    require_staff(user)
    return Site.objects.all()


def departments_for(user: Any) -> QuerySet[Department]:
    require_staff(user)
    return Department.objects.all()


def staff_for(user: Any) -> QuerySet[User]:
    require_staff(user)
    return (
        User.objects.filter(is_active=True)
        .select_related("site", "department")
        .order_by("username")
    )


def active_staff_by_username(usernames: set[str | None]) -> dict[str | None, User]:
    """Active staff by username, in one query; NotFound names the first one that is missing."""
    if not usernames:
        return {}
    found: dict[str | None, User] = {
        u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)
    }
    missing = usernames - set(found)
    if missing:
        raise NotFound(f"no active staff user '{sorted(u or '' for u in missing)[0]}'")
    return found


def sites_by_code(codes: set[str | None]) -> dict[str | None, Site]:
    """Sites by code, in one query; NotFound names the first one that is missing."""
    if not codes:
        return {}
    found: dict[str | None, Site] = {s.code: s for s in Site.objects.filter(code__in=codes)}
    missing = codes - set(found)
    if missing:
        raise NotFound(f"no site with code '{sorted(c or '' for c in missing)[0]}'")
    return found


def get_site(code: str) -> Site:
    try:
        return Site.objects.get(code=code)
    except Site.DoesNotExist:
        raise NotFound(f"no site with code '{code}'") from None


def get_department(code: str) -> Department:
    try:
        return Department.objects.get(code=code)
    except Department.DoesNotExist:
        raise NotFound(f"no department with code '{code}'") from None


def get_active_staff(username: str) -> User:
    try:
        return User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise NotFound(f"no active staff user '{username}'") from None
