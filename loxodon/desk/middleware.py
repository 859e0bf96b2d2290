from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from loxodon.core.middleware import database_unavailable_response, is_database_unavailable


class SiteTimeZoneMiddleware:
    """Show times in the agent's own site time zone (stored times stay UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:  # the first database read of a request (its session and user)
            user = getattr(request, "user", None)
            authenticated = user is not None and user.is_authenticated
            site = getattr(user, "site", None) if authenticated else None
        except (OperationalError, InterfaceError) as exc:
            # Outside the view, DatabaseUnavailableMiddleware cannot answer for it: a pool
            # timeout or a restarting database here must still be a 503, not a 500.
            if not is_database_unavailable(exc):
                raise
            return database_unavailable_response(request, exc)
        if site is not None:
            timezone.activate(zoneinfo.ZoneInfo(site.time_zone))
        else:
            timezone.deactivate()
        return self.get_response(request)
