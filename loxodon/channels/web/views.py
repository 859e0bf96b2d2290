"""The public beacon endpoint: company web pages report page views, searches and product
configurations here (`POST /web/beacon`; see docs/integrations/web.md).

Public and CSRF-exempt: the body carries the property's public key, which names a site and
proves nothing; identity comes only from a signed identity token. The view checks, in this
order, so that refused requests cost little and write nothing:

1. rate limit per client IP (before the body is read) → 429 + Retry-After;
2. body size (64 KB) → 413; content type JSON or text/plain (sendBeacon sends a string as
   text/plain, which needs no CORS preflight) → 415; shape and field limits → 400/422;
3. key: unknown or inactive → 403; the page's Origin must be allowed by the property → 403;
4. rate limits per key + IP and per visitor → 429 + Retry-After;
5. one service call, `record_hits` → 202 `{stored, repeated, identity[, identity_detail]}`.

CORS: responses to an allowed Origin echo it in Access-Control-Allow-Origin (no credentials:
Loxodon's cookies mean nothing here); OPTIONS preflights are answered for origins some active
property allows.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage
from pydantic import ValidationError

from loxodon.channels.web.schemas import MAX_BEACON_BYTES, BeaconIn
from loxodon.channels.web.selectors import active_property_for_key, origin_allowed_by_any_property
from loxodon.channels.web.services import HitDraft, record_hits
from loxodon.core.errors import DomainError

log = logging.getLogger(__name__)

ACCEPTED_CONTENT_TYPES = ("application/json", "text/plain")
PREFLIGHT_MAX_AGE = "86400"


def _answer(status: int, body: dict[str, Any] | None, origin: str | None = None) -> HttpResponse:
    response: HttpResponse = (
        JsonResponse(body, status=status) if body is not None else HttpResponse(status=status)
    )
    response["Cache-Control"] = "no-store"
    response["Vary"] = "Origin"
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _error_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _invalid(exc: ValidationError, origin: str | None) -> HttpResponse:
    errors = exc.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return _answer(400, {"detail": "the body is not valid JSON"}, origin)
    listed = []
    for e in errors:
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown field (not allowed here)"
        listed.append({"field": _error_location(tuple(e.get("loc", ()))), "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in listed[:10])
    return _answer(422, {"detail": detail, "errors": listed}, origin)


def _too_many(request: HttpRequest, group: str, key: Any, rate_name: str) -> int | None:
    """Seconds to wait if this request exceeds the named beacon rate, else None.

    Counted in the `RATELIMIT_USE_CACHE` cache; a broken cache lets the beacon through."""
    rate = settings.LOXODON_WEB_BEACON_RATES.get(rate_name)
    if not rate:
        return None
    try:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    except Exception:  # a cache outage must not take the beacon down (fail open)
        log.warning("beacon rate limit %s not checked: cache unavailable", rate_name, exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


def _rate_limited(seconds: int, origin: str | None) -> HttpResponse:
    response = _answer(429, {"detail": f"too many beacons: retry after {seconds} seconds"}, origin)
    response["Retry-After"] = str(seconds)
    return response


def _preflight(origin: str | None) -> HttpResponse:
    if not origin or not origin_allowed_by_any_property(origin):
        return _answer(403, {"detail": "this origin may not send beacons"})
    response = _answer(204, None, origin)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


@csrf_exempt
def beacon(request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        return _preflight(origin)
    if request.method != "POST":
        response = _answer(405, {"detail": "send beacons with POST"})
        response["Allow"] = "POST, OPTIONS"
        return response

    wait = _too_many(request, "web-beacon:ip", "ip", "ip")
    if wait is not None:
        return _rate_limited(wait, None)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BEACON_BYTES:
        return _answer(413, {"detail": f"a beacon body is at most {MAX_BEACON_BYTES} bytes"})
    content_type = (request.content_type or "").lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        return _answer(415, {"detail": "send the beacon as application/json or text/plain JSON"})
    body = request.body
    if len(body) > MAX_BEACON_BYTES:
        return _answer(413, {"detail": f"a beacon body is at most {MAX_BEACON_BYTES} bytes"})
    try:
        data = BeaconIn.model_validate_json(body)
    except ValidationError as exc:
        return _invalid(exc, None)

    try:
        prop = active_property_for_key(data.key)
    except DomainError as exc:
        return _answer(exc.status_code, {"detail": exc.detail})
    if not prop.origin_allowed(origin):
        return _answer(
            403,
            {"detail": f"origin {origin or '(none sent)'} is not allowed for this web property"},
        )
    cors = origin  # allowed for this property: the page may read our answers

    wait = _too_many(request, f"web-beacon:key:{prop.public_key}", "ip", "key_ip")
    if wait is None:
        wait = _too_many(
            request, f"web-beacon:visitor:{prop.public_key}", lambda g, r: data.visitor, "visitor"
        )
    if wait is not None:
        return _rate_limited(wait, cors)

    hits = [
        HitDraft(
            client_id=h.id,
            type=h.type,
            at=h.at,
            url=h.url,
            title=h.title,
            referrer=h.referrer,
            query=h.query,
            product=h.product,
            options=dict(h.options),
        )
        for h in data.hits
    ]
    try:
        result = record_hits(
            prop,
            visitor_key=data.visitor,
            hits=hits,
            identity_token=data.identity,
            sent_at=data.sent_at,
        )
    except DomainError as exc:
        return _answer(exc.status_code, {"detail": exc.detail, **exc.extra}, cors)
    answer: dict[str, Any] = {
        "stored": result.stored,
        "repeated": result.repeated,
        "identity": result.identity,
    }
    if result.identity_detail:
        answer["identity_detail"] = result.identity_detail
    return _answer(202, answer, cors)
