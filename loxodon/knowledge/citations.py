"""Citations: an agent gives a customer one article version on one channel (one answer, recorded).

`cite_article` is the only write. It cites the article's *current* version, only if the article
is public and live, and in one transaction (under the case's row lock) writes the `article_cited`
timeline event, the `Citation` row pointing at it and, for email, the message to the customer
through the outbox (whose rules apply: the owner replies, others queue an update).

The reads here (`citations_of_case`, `citation_page`, `citation_report`) check access first.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.access import require_staff, require_supervisor
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput
from loxodon.knowledge import events
from loxodon.knowledge.models import Article, Citation
from loxodon.knowledge.rendering import for_channel
from loxodon.org.models import Site, User
from loxodon.outbound import services as outbound

CITE_CHANNELS = ("phone", "email", "chat", "sms", "in_person", "web", "letter")
CHANNEL_LABELS = {
    "phone": "Phone",
    "email": "Email",
    "chat": "Chat",
    "sms": "SMS",
    "in_person": "In person",
    "web": "Web",
    "letter": "Letter",
}
# A second identical citation (same case, article, version, channel and agent) this soon after
# the first is a double click: the first one is returned instead.
DOUBLE_CLICK = timedelta(seconds=10)
MAX_NOTE = 2_000


def portal_url(article: Article) -> str:
    return f"{settings.LOXODON_PUBLIC_URL.rstrip('/')}/portal/help/{article.slug}/"


def _email_text(article: Article, note: str) -> str:
    version = article.current
    if version is None:
        raise InvalidInput(f'"{article.title}" has no version yet')
    parts = [note] if note else []
    parts += [version.title, for_channel(version.body, "email").strip()]
    parts.append(f"You can read this answer online at any time: {portal_url(article)}")
    return "\n\n".join(parts)


@transaction.atomic
def cite_article(
    *, case: Case, article: Article, by: User, channel: str, note: str = ""
) -> Citation:
    """Record that `by` gave the customer of `case` the current version of `article`."""
    require_staff(by)
    if channel not in CITE_CHANNELS:
        raise InvalidInput(f"channel must be one of: {', '.join(CITE_CHANNELS)}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"note: at most {MAX_NOTE} characters")
    locked_case = (
        Case.objects.select_for_update(of=("self",)).select_related("site").get(pk=case.pk)
    )
    fresh = Article.objects.select_related("current").get(pk=article.pk)
    if fresh.archived_at is not None:
        raise InvalidInput(f'"{fresh.title}" is archived; cite a current article')
    if not fresh.is_public:
        raise InvalidInput("internal articles are for staff; cite a public one or publish it")
    version = fresh.current
    if version is None:
        raise InvalidInput(f'"{fresh.title}" has no version yet')
    earlier = (
        Citation.objects.filter(
            case=locked_case,
            article=fresh,
            version=version,
            channel=channel,
            cited_by=by,
            created_at__gte=timezone.now() - DOUBLE_CLICK,
        )
        .order_by("created_at")
        .first()
    )
    if earlier is not None:
        return earlier
    if channel == "email":
        # The outbox's rules apply (owner replies, others queue an update); its errors surface.
        outbound.queue_message(case=locked_case, author=by, body=_email_text(fresh, note))
    event = events.article_cited(
        case=locked_case, article=fresh, version=version, channel=channel, by=by, note=note
    )
    return Citation.objects.create(
        article=fresh,
        version=version,
        event=event,
        customer_id=locked_case.customer_id,
        case=locked_case,
        channel=channel,
        cited_by=by,
        site=locked_case.site or by.site,
    )


# --- reads ------------------------------------------------------------------------------------


def _citations() -> QuerySet[Citation]:
    return Citation.objects.select_related("article__current", "version", "cited_by", "event")


def get_citation(viewer: User, pk: uuid.UUID) -> Citation:
    require_staff(viewer)
    return _citations().get(pk=pk)


def citations_of_case(viewer: User, case: Case) -> list[Citation]:
    require_staff(viewer)
    return list(_citations().filter(case=case).order_by("-created_at", "-id"))


@dataclass
class CitationPage:
    items: list[Citation]
    next_cursor: str | None


def citation_page(
    viewer: User, *, case: Case | None = None, cursor: str | None = None, limit: int = 50
) -> CitationPage:
    """Newest first, keyset-paged; every citation, or one case's."""
    require_staff(viewer)
    rows = _citations().order_by("-created_at", "-id")
    if case is not None:
        rows = rows.filter(case=case)
    if cursor:
        at, pk = decode_cursor(cursor)
        rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    return CitationPage(
        items=items,
        next_cursor=encode_cursor(last.created_at, last.pk) if more and last else None,
    )


@dataclass
class ReportRow:
    version: int
    channel: str
    count: int


@dataclass
class ArticleReport:
    article_id: uuid.UUID
    slug: str
    title: str
    current_version: int | None
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def versions_quoted(self) -> list[int]:
        return sorted({r.version for r in self.rows})

    @property
    def non_current_quoted(self) -> list[int]:
        """Versions quoted in the period that are no longer current."""
        return [v for v in self.versions_quoted if v != self.current_version]

    @property
    def mixed_versions(self) -> bool:
        """Customers were given different versions of this answer within the period."""
        return len(self.versions_quoted) > 1

    @property
    def channels(self) -> list[str]:
        return sorted({r.channel for r in self.rows}, key=CITE_CHANNELS.index)


@dataclass
class CitationReport:
    since: date
    until: date
    articles: list[ArticleReport]

    @property
    def total(self) -> int:
        return sum(a.total for a in self.articles)

    @property
    def flagged(self) -> int:
        return sum(1 for a in self.articles if a.mixed_versions or a.non_current_quoted)


def period(since: date | None, until: date | None, days: int = 30) -> tuple[date, date]:
    """The report's period in local dates (both inclusive); default the last `days` days."""
    until = until or timezone.localdate()
    since = since or until - timedelta(days=days - 1)
    if since > until:
        raise InvalidInput("since must not be after until")
    return since, until


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def citation_report(
    viewer: User,
    *,
    since: date | None = None,
    until: date | None = None,
    site: Site | None = None,
    article: Article | None = None,
) -> CitationReport:
    """Article, version and channel → count for the period; supervisors and admins only."""
    require_supervisor(viewer, "the citations report is for supervisors and admins")
    since, until = period(since, until)
    rows = Citation.objects.filter(
        created_at__gte=_start_of(since), created_at__lt=_start_of(until + timedelta(days=1))
    )
    if site is not None:
        rows = rows.filter(site=site)
    if article is not None:
        rows = rows.filter(article=article)
    counts = (
        rows.values("article_id", "version__number", "channel")
        .annotate(n=Count("id"))
        .order_by("article_id", "version__number", "channel")
    )
    grouped: dict[uuid.UUID, list[ReportRow]] = defaultdict(list)
    for row in counts:
        grouped[row["article_id"]].append(
            ReportRow(version=row["version__number"], channel=row["channel"], count=row["n"])
        )
    articles = Article.objects.select_related("current").in_bulk(list(grouped))
    reports = [
        ArticleReport(
            article_id=a.pk,
            slug=a.slug,
            title=a.title,
            current_version=a.current.number if a.current else None,
            rows=grouped[a.pk],
        )
        for a in articles.values()
    ]
    reports.sort(key=lambda r: (-r.total, r.title))
    return CitationReport(since=since, until=until, articles=reports)
