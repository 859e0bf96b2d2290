"""The public API (`/api/v1`): one NinjaAPI, a router per app, errors as `{"detail": ...}`."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, django_auth

from loxodon.cases.api import router as cases_router
from loxodon.cases.schemas import case_out
from loxodon.cases.services import StaleVersion
from loxodon.channels.chat.api import router as chat_router
from loxodon.channels.email.api import router as email_router
from loxodon.channels.voice.api import router as voice_router
from loxodon.channels.web.api import router as web_router
from loxodon.core.errors import DomainError
from loxodon.core.middleware import database_unavailable_response, is_database_unavailable
from loxodon.customers.api import router as customers_router
from loxodon.customers.reviews_api import router as identity_reviews_router
from loxodon.insights.api import router as insights_router
from loxodon.insights.survey_api import router as survey_router
from loxodon.knowledge.api import router as knowledge_router
from loxodon.knowledge.exceptions_api import router as exceptions_router
from loxodon.org.api import router as org_router
from loxodon.org.selectors import user_for_token
from loxodon.outbound.api import router as outbound_router
from loxodon.sla.api import router as sla_router
from loxodon.timeline.api import router as timeline_router


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return user_for_token(token)


api = NinjaAPI(
    title="Loxodon API",
    version="1",
    description=(
        "One picture of the customer: customers and identities, one timeline of every "
        "interaction and transaction, and cases the customer owns. Authenticate with "
        "`Authorization: Bearer <token>` (`loxodon create_api_token USERNAME`)."
    ),
    auth=[BearerToken(), django_auth],
    urls_namespace="api",
)


def _location(loc: list[Any]) -> str:
    """Ninja's ("body", "<param>", "events", 5, "payload") → "events[5].payload"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "form", "file"):
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts and parts[0] in ("query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "request body"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _location(list(e.get("loc", []))), "message": e.get("msg", "invalid")}
        for e in exc.errors
    ]
    for e in errors:
        if "Extra inputs" in e["message"]:
            e["message"] = "unknown field (not allowed here)"
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(StaleVersion)
def stale_case(request: HttpRequest, exc: StaleVersion) -> HttpResponse:
    """409 for a change made to an old version of a case, with the current case to decide on."""
    body = {"detail": exc.detail, **exc.extra, "case": case_out(exc.case, with_handoffs=True)}
    return api.create_response(request, body, status=409)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.detail, **exc.extra}, status=exc.status_code)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A database restarting or out of reach: 503 with Retry-After (nothing was written)."""
    if not is_database_unavailable(exc):
        raise exc
    return database_unavailable_response(request, exc)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "authentication required: send 'Authorization: Bearer <token>'"},
        status=401,
    )


api.add_router("/", org_router)
api.add_router("/", customers_router)
api.add_router("/", timeline_router)
api.add_router("/", cases_router)
api.add_router("/", outbound_router)
api.add_router("/channels/email/", email_router)
api.add_router("/channels/voice/", voice_router)
api.add_router("/channels/chat/", chat_router)
api.add_router("/channels/web/", web_router)
api.add_router("/sla/", sla_router)
api.add_router("/insights/", insights_router)
api.add_router("/surveys/", survey_router)
api.add_router("/identity/", identity_reviews_router)
api.add_router("/knowledge/", knowledge_router)
api.add_router("/knowledge/", exceptions_router)
