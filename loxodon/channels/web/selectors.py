"""Reads of the web channel: the public beacon's property lookup and the staff listing."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from loxodon.channels.web.models import WebProperty
from loxodon.core.access import require_admin
from loxodon.core.errors import PermissionDenied


def active_property_for_key(key: str) -> WebProperty:
    """The property a page's public key names. Public: the key proves nothing, it only says
    which site the hits are for. Unknown and inactive keys are refused alike (403)."""
    prop = (
        WebProperty.objects.select_related("site").filter(public_key=key, active=True).first()
        if key
        else None
    )
    if prop is None:
        raise PermissionDenied("unknown or inactive web property key")
    return prop


def origin_allowed_by_any_property(origin: str | None) -> bool:
    """For CORS preflights, which carry no body and hence no key: may some active property be
    used from this origin? The POST itself is checked against its own property."""
    return any(
        p.origin_allowed(origin)
        for p in WebProperty.objects.filter(active=True).only("allowed_origins")
    )


def properties_for(user: Any) -> QuerySet[WebProperty]:
    """Every web property (admins only: the staff API's listing)."""
    require_admin(user)
    return WebProperty.objects.select_related("site").order_by("name")
