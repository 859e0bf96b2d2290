from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ApiBodyLimitMiddleware:
    """Refuse over-large API request bodies up front with a JSON 413 the integrator can act on
    (Django would otherwise answer a generic error page when the body is read)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                length = int(request.headers.get("Content-Length") or 0)
            except ValueError:
                length = 0
            if limit is not None and length > limit:
                detail = (
                    f"request body is {length} bytes; the limit is {limit} bytes "
                    "(send fewer events per batch)"
                )
                return HttpResponse(
                    json.dumps({"detail": detail}), status=413, content_type="application/json"
                )
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Placeholder (issue 10, item 18): answers 503 with Retry-After when the database is
    unreachable. Filled in by the reliability work."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
