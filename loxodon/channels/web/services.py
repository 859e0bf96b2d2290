"""Every write of the web channel: beacon hits grouped into visits, visitors identified, visits
rendered as living `web_visit` timeline events, web properties created, anonymous activity purged.

The channel's own tables are the authoritative state (ADR 0008):

- `WebVisitor`: one browser on one property (a random id the page keeps in localStorage);
  anonymous until a valid identity token names a customer.
- `WebVisit`: that visitor's hits with no gap longer than `VISIT_GAP` between them.
- `WebHit`: one page view / search / configuration, unique per (visitor, client hit id), so a
  replayed beacon finds its hits stored and writes nothing.

A visit of a *known* visitor is one living `web_visit` event on the customer's timeline
(source `web:<public key>`, external id = the visit id), created with `ingest_events` and brought
up to date with `amend_living_event` as hits arrive. Anonymous visits stay in these tables only
(no customer is created for every anonymous bot) until the visitor is identified: then their
visits are attached to the customer's timeline (backfill).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from loxodon.channels.web.identity import VisitorIdentity, customer_for_visitor, verify_identity
from loxodon.channels.web.models import WebHit, WebHitType, WebProperty, WebVisit, WebVisitor
from loxodon.core.errors import InvalidInput, NotFound, PermissionDenied
from loxodon.core.event_types import Channel
from loxodon.org.models import Site
from loxodon.timeline.services import (
    MAX_PAYLOAD_BYTES,
    EventDraft,
    amend_living_event,
    ingest_events,
)

VISIT_GAP = timedelta(minutes=30)
MAX_HITS_PER_BEACON = 50
# A hit's time, after correcting the page's clock, must lie in this window around "now".
MAX_HIT_AGE = timedelta(days=7)
MAX_HIT_AHEAD = timedelta(minutes=5)
# The page's clock is trusted when within this of ours; beyond it `sent_at` corrects the skew.
CLOCK_TOLERANCE = timedelta(minutes=2)
# What one visit's timeline event carries (the event payload limit is 64 KB).
MAX_PAGES_IN_EVENT = 50
MAX_SEARCHES_IN_EVENT = 20
MAX_CONFIGURATIONS_IN_EVENT = 10
MAX_OPTIONS_IN_EVENT = 12
PAYLOAD_BUDGET_BYTES = MAX_PAYLOAD_BYTES - 4 * 1024
# Visits attached to the timeline when an anonymous visitor is identified (most recent first).
MAX_BACKFILL_VISITS = 200


class IdentityOutcome:
    NONE = "none"  # no token sent: anonymous unless the visitor was identified before
    ACCEPTED = "accepted"  # the token named a customer; the visitor is linked to them
    REFUSED = "refused"  # the token was invalid; hits stored as if no token was sent
    UNRESOLVED = "unresolved"  # valid, but its identifiers name different customers


@dataclass(frozen=True)
class HitDraft:
    """A hit as the page reported it (validated for shape by the beacon view's schema)."""

    client_id: str
    type: str
    at: datetime
    url: str
    title: str = ""
    referrer: str = ""
    query: str = ""
    product: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BeaconResult:
    stored: int
    repeated: int
    identity: str = IdentityOutcome.NONE
    identity_detail: str = ""
    customer_id: uuid.UUID | None = None
    visit_ids: tuple[uuid.UUID, ...] = ()


# --- properties ---------------------------------------------------------------------------


def _normalised_origin(raw: str) -> str:
    origin = raw.strip().rstrip("/")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise InvalidInput(
            f"'{raw}' is not an origin: give scheme and host, e.g. https://shop.example.com"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


@transaction.atomic
def create_web_property(
    *, name: str, site_code: str | None = None, origins: Iterable[str] = ()
) -> WebProperty:
    """A company web site that may send beacons (and host the chat widget).

    With no origins, pages of any origin may use its key; listing origins restricts it.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty")
    site = None
    if site_code:
        site = Site.objects.filter(code=site_code).first()
        if site is None:
            raise NotFound(f"no site with code '{site_code}'")
    allowed = list(dict.fromkeys(_normalised_origin(o) for o in origins if o.strip()))
    return WebProperty.objects.create(name=name, site=site, allowed_origins="\n".join(allowed))


# --- beacon hits ---------------------------------------------------------------------------


def _corrected_times(
    hits: Sequence[HitDraft], *, now: datetime, sent_at: datetime | None
) -> list[datetime]:
    """Hit times on our clock: the page's clock may be off by hours; `sent_at` (the page's time
    when it sent the beacon) measures the skew."""
    skew = timedelta(0)
    if sent_at is not None and abs(now - sent_at) > CLOCK_TOLERANCE:
        skew = now - sent_at
    out = []
    for i, hit in enumerate(hits):
        if hit.at.tzinfo is None:
            raise InvalidInput(f"hits[{i}].at must include a UTC offset")
        at = hit.at + skew
        if at < now - MAX_HIT_AGE:
            raise InvalidInput(f"hits[{i}].at is more than {MAX_HIT_AGE.days} days ago")
        if at > now + MAX_HIT_AHEAD:
            raise InvalidInput(f"hits[{i}].at is in the future (check sent_at or the clock)")
        out.append(at)
    return out


def _check_hits(hits: Sequence[HitDraft]) -> None:
    if not hits:
        raise InvalidInput("hits must hold at least one hit")
    if len(hits) > MAX_HITS_PER_BEACON:
        raise InvalidInput(f"a beacon holds at most {MAX_HITS_PER_BEACON} hits")
    for i, hit in enumerate(hits):
        if hit.type not in WebHitType.values:
            raise InvalidInput(f"hits[{i}].type must be one of {', '.join(WebHitType.values)}")
        if hit.type == WebHitType.SEARCH and not hit.query:
            raise InvalidInput(f"hits[{i}]: a search needs its query")
        if hit.type == WebHitType.CONFIGURATION and not hit.product:
            raise InvalidInput(f"hits[{i}]: a configuration needs its product")


def _identify(
    prop: WebProperty, token: str | None, now: datetime
) -> tuple[str, str, VisitorIdentity | None]:
    if not token:
        return IdentityOutcome.NONE, "", None
    try:
        return IdentityOutcome.ACCEPTED, "", verify_identity(prop, token, now=now.timestamp())
    except InvalidInput as exc:
        return IdentityOutcome.REFUSED, exc.detail, None


def record_hits(
    prop: WebProperty,
    *,
    visitor_key: str,
    hits: Sequence[HitDraft],
    identity_token: str | None = None,
    sent_at: datetime | None = None,
    now: datetime | None = None,
) -> BeaconResult:
    """Store a beacon's hits in the visitor's visits and bring the timeline up to date.

    Idempotent: hits already stored for this visitor (by client id) are skipped, so replaying a
    beacon changes nothing. Everything is validated before anything is written. A refused
    identity token does not refuse the hits: they are stored as if no token had been sent, and
    the result says why the token was refused.
    """
    now = now or timezone.now()
    if not prop.active:
        raise PermissionDenied("this web property is not active")
    _check_hits(hits)
    times = _corrected_times(hits, now=now, sent_at=sent_at)
    outcome, detail, who = _identify(prop, identity_token, now)
    with transaction.atomic():
        return _record(prop, visitor_key, hits, times, outcome, detail, who, now)


def _record(
    prop: WebProperty,
    visitor_key: str,
    hits: Sequence[HitDraft],
    times: list[datetime],
    outcome: str,
    detail: str,
    who: VisitorIdentity | None,
    now: datetime,
) -> BeaconResult:
    WebVisitor.objects.get_or_create(
        web_property=prop, visitor_key=visitor_key, defaults={"last_seen_at": now}
    )
    # One beacon at a time per visitor: visits are found and extended under this lock.
    visitor = WebVisitor.objects.select_for_update().get(web_property=prop, visitor_key=visitor_key)
    newly_linked = False
    if who is not None:
        customer = customer_for_visitor(prop, who)
        if customer is None:
            outcome = IdentityOutcome.UNRESOLVED
            detail = "the token's identifiers belong to different customers"
        elif visitor.customer_id != customer.pk:
            visitor.customer = customer
            visitor.identified_at = now
            visitor.save(update_fields=["customer", "identified_at", "updated_at"])
            newly_linked = True

    # Idempotency: a hit id seen before for this visitor (or earlier in this beacon) is a repeat.
    stored_ids = set(
        WebHit.objects.filter(
            visitor=visitor, client_id__in={h.client_id for h in hits}
        ).values_list("client_id", flat=True)
    )
    fresh: list[tuple[datetime, HitDraft]] = []
    for at, hit in zip(times, hits, strict=True):
        if hit.client_id not in stored_ids:
            stored_ids.add(hit.client_id)
            fresh.append((at, hit))
    fresh.sort(key=lambda pair: pair[0])

    touched = _place_in_visits(visitor, fresh, now) if fresh else {}
    if fresh and visitor.last_seen_at < now:
        visitor.last_seen_at = now
        visitor.save(update_fields=["last_seen_at", "updated_at"])

    if visitor.customer_id is not None and (touched or newly_linked):
        to_render = dict(touched)
        if newly_linked:
            backlog = WebVisit.objects.filter(visitor=visitor, event__isnull=True).order_by(
                "-last_hit_at"
            )[:MAX_BACKFILL_VISITS]
            for visit in backlog:
                to_render.setdefault(visit.pk, visit)
        _render_on_timeline(prop, visitor, list(to_render.values()))

    return BeaconResult(
        stored=len(fresh),
        repeated=len(hits) - len(fresh),
        identity=outcome,
        identity_detail=detail,
        customer_id=visitor.customer_id,
        visit_ids=tuple(touched),
    )


def _place_in_visits(
    visitor: WebVisitor, fresh: list[tuple[datetime, HitDraft]], now: datetime
) -> dict[uuid.UUID, WebVisit]:
    """Put each new hit into the visit it continues (within `VISIT_GAP`), else a new visit.

    A visit already on another customer's timeline (the browser changed hands) is not
    continued. Returns the visits that changed, saved.
    """
    first, last = fresh[0][0], fresh[-1][0]
    nearby = (
        WebVisit.objects.filter(
            visitor=visitor,
            last_hit_at__gte=first - VISIT_GAP,
            started_at__lte=last + VISIT_GAP,
        )
        .annotate(event_customer=F("event__customer_id"))
        .order_by("last_hit_at")
    )
    candidates: list[WebVisit] = [
        v for v in nearby if v.event_id is None or v.event_customer == visitor.customer_id
    ]
    touched: dict[uuid.UUID, WebVisit] = {}
    created: set[uuid.UUID] = set()
    rows: list[WebHit] = []
    for at, hit in fresh:
        visit: WebVisit | None = next(
            (
                v
                for v in reversed(candidates)
                if v.started_at - VISIT_GAP <= at <= v.last_hit_at + VISIT_GAP
            ),
            None,
        )
        if visit is None:
            visit = WebVisit(visitor=visitor, started_at=at, last_hit_at=at, hit_count=0)
            created.add(visit.pk)
            candidates.append(visit)
        visit.started_at = min(visit.started_at, at)
        visit.last_hit_at = max(visit.last_hit_at, at)
        visit.hit_count += 1
        touched[visit.pk] = visit
        rows.append(
            WebHit(
                visitor=visitor,
                visit=visit,
                client_id=hit.client_id,
                type=hit.type,
                at=at,
                received_at=now,
                url=hit.url,
                title=hit.title,
                referrer=hit.referrer,
                query=hit.query if hit.type == WebHitType.SEARCH else "",
                product=hit.product if hit.type == WebHitType.CONFIGURATION else "",
                options=hit.options if hit.type == WebHitType.CONFIGURATION else {},
            )
        )
    new_visits = [v for pk, v in touched.items() if pk in created]
    if new_visits:
        WebVisit.objects.bulk_create(new_visits)
    for pk, changed in touched.items():
        if pk not in created:
            changed.save(update_fields=["started_at", "last_hit_at", "hit_count", "updated_at"])
    WebHit.objects.bulk_create(rows)
    return touched


# --- the timeline --------------------------------------------------------------------------


def _render_on_timeline(prop: WebProperty, visitor: WebVisitor, visits: list[WebVisit]) -> None:
    """Create the living event of each visit that has none; amend the others."""
    if not visits or visitor.customer_id is None:
        return
    hits_by_visit: dict[uuid.UUID, list[WebHit]] = {v.pk: [] for v in visits}
    for hit in (
        WebHit.objects.filter(visit__in=list(hits_by_visit))
        .only("visit_id", "type", "at", "url", "title", "query", "product", "options")
        .order_by("at", "id")
    ):
        hits_by_visit[hit.visit_id].append(hit)

    source = f"web:{prop.public_key}"
    drafts: list[EventDraft] = []
    unrendered: list[WebVisit] = []
    for visit in sorted(visits, key=lambda v: v.started_at):
        summary, payload = visit_rendering(prop, visit, hits_by_visit[visit.pk])
        if visit.event_id is None:
            drafts.append(
                EventDraft(
                    source=source,
                    external_id=str(visit.pk),
                    channel=Channel.WEB,
                    kind="web_visit",
                    occurred_at=visit.started_at,
                    summary=summary,
                    payload=payload,
                    customer_id=visitor.customer_id,
                    site=prop.site.code if prop.site else None,
                )
            )
            unrendered.append(visit)
        else:
            amend_living_event(visit.event_id, summary=summary, payload=payload)
    if drafts:
        results = ingest_events(drafts)
        for visit, result in zip(unrendered, results, strict=True):
            visit.event = result.event
            visit.save(update_fields=["event", "updated_at"])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted_list(values: list[str], limit: int = 2) -> str:
    shown = ", ".join(f"'{_clip(v, 40)}'" for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def _options_for_event(options: Any) -> dict[str, Any]:
    if not isinstance(options, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in list(options.items())[:MAX_OPTIONS_IN_EVENT]:
        out[_clip(str(key), 60)] = _clip(value, 100) if isinstance(value, str) else value
    return out


def visit_rendering(
    prop: WebProperty, visit: WebVisit, hits: list[WebHit]
) -> tuple[str, dict[str, Any]]:
    """The timeline's summary and payload of one visit (sizes capped: the payload stays well
    under the 64 KB event limit whatever the page sent)."""
    pages = [h for h in hits if h.type == WebHitType.PAGE_VIEW]
    searches = [h for h in hits if h.type == WebHitType.SEARCH]
    configurations = [h for h in hits if h.type == WebHitType.CONFIGURATION]

    parts = ["Web visit"]
    if pages:
        parts.append(f"{len(pages)} page{'' if len(pages) == 1 else 's'}")
    queries = list(dict.fromkeys(h.query for h in searches))
    if queries:
        parts.append("searched " + _quoted_list(queries))
    products = list(dict.fromkeys(h.product for h in configurations))
    if products:
        parts.append("configured " + ", ".join(_clip(p, 60) for p in products[:2]))
        if len(products) > 2:
            parts[-1] += f" (+{len(products) - 2} more)"
    summary = _clip(" · ".join(parts), 300)

    shown_pages = pages[-MAX_PAGES_IN_EVENT:]  # the latest pages: what they saw before calling
    payload: dict[str, Any] = {
        "visit_id": str(visit.pk),
        "property": prop.name,
        "started_at": visit.started_at.isoformat(),
        "last_hit_at": visit.last_hit_at.isoformat(),
        "hit_count": len(hits),
        "page_count": len(pages),
        "earlier_pages_not_shown": len(pages) - len(shown_pages),
        "pages": [
            {"at": h.at.isoformat(), "url": _clip(h.url, 300), "title": _clip(h.title, 200)}
            for h in shown_pages
        ],
        "searches": [
            {"at": h.at.isoformat(), "query": _clip(h.query, 200)}
            for h in searches[-MAX_SEARCHES_IN_EVENT:]
        ],
        "configurations": [
            {
                "at": h.at.isoformat(),
                "product": _clip(h.product, 200),
                "options": _options_for_event(h.options),
                "url": _clip(h.url, 300),
            }
            for h in configurations[-MAX_CONFIGURATIONS_IN_EVENT:]
        ],
    }
    # Belt and braces: drop the oldest listed pages until the payload fits its budget.
    while (
        payload["pages"] and len(json.dumps(payload, default=str).encode()) > PAYLOAD_BUDGET_BYTES
    ):
        payload["pages"].pop(0)
        payload["earlier_pages_not_shown"] += 1
    return summary, payload


# --- retention -----------------------------------------------------------------------------


@transaction.atomic
def purge_anonymous_activity(
    *, older_than_days: int | None = None, now: datetime | None = None
) -> int:
    """Delete anonymous visitors (never identified) not seen for `older_than_days`
    (default `LOXODON_WEB_ANONYMOUS_RETENTION_DAYS`), with their visits and hits.
    Returns how many visitors were deleted. Identified visitors' visits are the customer's
    record (their timeline events stay, like every event)."""
    days = (
        settings.LOXODON_WEB_ANONYMOUS_RETENTION_DAYS
        if older_than_days is None
        else older_than_days
    )
    if days < 1:
        raise InvalidInput("older_than_days must be at least 1")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    stale = WebVisitor.objects.filter(customer__isnull=True, last_seen_at__lt=cutoff)
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    WebHit.objects.filter(visitor_id__in=ids).delete()
    WebVisit.objects.filter(visitor_id__in=ids).delete()
    WebVisitor.objects.filter(pk__in=ids).delete()
    return len(ids)
