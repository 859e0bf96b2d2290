from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)


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


# SQLSTATEs of a database that is going away or coming back: connection exceptions (class 08),
# admin/crash shutdown and "cannot connect now" (starting up / shutting down).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
_UNAVAILABLE_WORDS = (
    "connection",  # psycopg: "connection failed", "server closed the connection unexpectedly"
    "terminating",
    "the database system is",  # "... is starting up / shutting down / in recovery mode"
    "database is locked",  # SQLite: a writer held the lock past the busy timeout
    "could not connect",
)
RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exc: BaseException) -> bool:
    """True for errors that say the database cannot be reached right now (lost connection,
    restart, lock timeout), not for errors in the query itself (a missing table, bad SQL)."""
    if isinstance(exc, InterfaceError):  # "connection already closed"
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    text = str(exc).lower()
    return any(word in text for word in _UNAVAILABLE_WORDS)


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After: JSON for the API, a short page for people. Nothing was written:
    the request's transaction was rolled back when the error left it."""
    log.warning(
        "database unavailable during %s %s: %s", request.method, request.path, exc, exc_info=False
    )
    detail = "the database is unavailable for a moment; nothing was saved: retry shortly"
    if request.path.startswith("/api/"):
        response = HttpResponse(
            json.dumps({"detail": detail, "retry_after": RETRY_AFTER_SECONDS}),
            status=503,
            content_type="application/json",
        )
    else:
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Back in a moment</title></head><body><h1>Back in a moment</h1>"
            "<p>The database is unavailable for a moment and nothing was saved. "
            "Please try again in a few seconds.</p></body></html>"
        )
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A database that is restarting or unreachable answers 503 with `Retry-After` instead of
    a 500 (issue 10, item 18). The request's transaction has already rolled back; the
    connection is dropped so that the next request opens a fresh one (with
    `conn_health_checks` a broken persistent connection is also replaced on its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        _drop_broken_connections()
        return database_unavailable_response(request, exception)


def _drop_broken_connections() -> None:
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue  # an outer transaction (tests) owns it
        try:
            conn.close()
        except DatabaseError:
            log.debug("closing a broken database connection failed", exc_info=True)
