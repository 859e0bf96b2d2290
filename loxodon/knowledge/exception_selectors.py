"""Reads of policy exceptions: a case's list, the approvals queue and the register.

Every member of staff reads exceptions (the register is read-only for agents); only supervisors
and admins see the approvals queue. The register's filters are shared by the desk page, its CSV
export and the API (`ExceptionFilters.parse`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.access import require_staff, require_supervisor
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput, NotFound
from loxodon.core.ids import parse_uuid
from loxodon.knowledge.models import Article, PolicyException
from loxodon.knowledge.policy import Parameter, parse_policy
from loxodon.knowledge.selectors import articles_for
from loxodon.org.models import Site, User

Status = PolicyException.Status
STATUS_LABELS = {
    Status.GRANTED: "Granted",
    Status.PENDING: "Waiting for approval",
    Status.APPROVED: "Approved",
    Status.DENIED: "Denied",
    Status.WITHDRAWN: "Withdrawn",
}
MAX_LIMIT = 200


def _with_relations(qs: QuerySet[PolicyException]) -> QuerySet[PolicyException]:
    return qs.select_related(
        "case", "customer", "article", "version", "requested_by", "decided_by", "site"
    )


def policies_for(user: Any) -> QuerySet[Article]:
    """Policy articles `user` may read and grant exceptions to (archived ones left out)."""
    require_staff(user)
    return articles_for(user).filter(is_policy=True, archived_at__isnull=True).order_by("title")


def policy_parameters(article: Article) -> list[Parameter]:
    """The parameters of the article's current version ([] if it is not a policy)."""
    current = article.current
    if current is None or not current.policy:
        return []
    return list(parse_policy(current.policy).parameters)


def exceptions_of_case(user: Any, case: Case) -> list[PolicyException]:
    require_staff(user)
    return list(_with_relations(PolicyException.objects.filter(case=case)).order_by("-created_at"))


def get_exception_for(user: Any, exception_id: str | uuid.UUID) -> PolicyException:
    require_staff(user)
    pk = parse_uuid(exception_id, "exception")
    found = _with_relations(PolicyException.objects.filter(pk=pk)).first()
    if found is None:
        raise NotFound(f"no exception with id '{exception_id}'")
    return found


@dataclass(frozen=True)
class ExceptionFilters:
    """Register filters, already checked: ids and codes that exist, dates in order."""

    policy: Article | None = None
    site: Site | None = None
    agent: User | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any((self.policy, self.site, self.agent, self.status, self.since, self.until))

    @classmethod
    def parse(
        cls,
        user: Any,
        *,
        policy: str | None = None,
        site: str | None = None,
        agent: str | None = None,
        status: str | None = None,
        since: str | date | None = None,
        until: str | date | None = None,
    ) -> ExceptionFilters:
        """From query parameters: policy id or slug, site code, agent username or id, status,
        and a period of dates (both ends included). InvalidInput saying which one is wrong."""
        raw = {
            k: str(v)
            for k, v in {
                "policy": policy,
                "site": site,
                "agent": agent,
                "status": status,
                "since": since,
                "until": until,
            }.items()
            if v not in (None, "")
        }
        found_policy = None
        if policy:
            try:
                pk = uuid.UUID(str(policy))
                found_policy = articles_for(user).filter(Q(pk=pk)).first()
            except ValueError:
                found_policy = articles_for(user).filter(slug=str(policy)).first()
            if found_policy is None:
                raise InvalidInput(f"policy: no policy {policy!r}")
        found_site = None
        if site:
            found_site = Site.objects.filter(code=site).first()
            if found_site is None:
                raise InvalidInput(f"site: no site with code {site!r}")
        found_agent = None
        if agent:
            try:
                found_agent = User.objects.filter(pk=uuid.UUID(str(agent))).first()
            except ValueError:
                found_agent = User.objects.filter(username=agent).first()
            if found_agent is None:
                raise InvalidInput(f"agent: no member of staff {agent!r}")
        if status and status not in Status.values:
            raise InvalidInput(f"status must be one of: {', '.join(Status.values)}")
        start, end = _date(since, "since"), _date(until, "until")
        if start and end and end < start:
            raise InvalidInput("until must not be before since")
        return cls(
            policy=found_policy,
            site=found_site,
            agent=found_agent,
            status=status or None,
            since=start,
            until=end,
            raw=raw,
        )

    def apply(self, qs: QuerySet[PolicyException], *, with_status: bool = True) -> Any:
        if self.policy is not None:
            qs = qs.filter(article=self.policy)
        if self.site is not None:
            qs = qs.filter(site=self.site)
        if self.agent is not None:
            qs = qs.filter(requested_by=self.agent)
        if with_status and self.status:
            qs = qs.filter(status=self.status)
        if self.since:
            qs = qs.filter(created_at__gte=_start_of(self.since))
        if self.until:
            qs = qs.filter(created_at__lt=_start_of(self.until + timedelta(days=1)))
        return qs


def _date(value: str | date | None, what: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class ExceptionPage:
    items: list[PolicyException]
    next_cursor: str | None
    count: int
    counts: dict[str, int]


def _page(
    qs: QuerySet[PolicyException], cursor: str | None, limit: int, *, oldest_first: bool
) -> tuple[list[PolicyException], str | None]:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if cursor:
        at, pk = decode_cursor(cursor)
        if oldest_first:
            qs = qs.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=pk))
        else:
            qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    order = ("created_at", "id") if oldest_first else ("-created_at", "-id")
    rows = list(_with_relations(qs.order_by(*order))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return rows, next_cursor


def exception_register(
    user: Any, filters: ExceptionFilters, *, cursor: str | None = None, limit: int = 25
) -> ExceptionPage:
    """Every exception matching the filters, newest first (keyset pages, ADR 6), with the
    number per status (over every page, ignoring the status filter)."""
    require_staff(user)
    base = filters.apply(PolicyException.objects.all(), with_status=False)
    counts = {s: 0 for s in Status.values}
    for row in base.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    qs = filters.apply(PolicyException.objects.all())
    count = counts[filters.status] if filters.status else sum(counts.values())
    rows, next_cursor = _page(qs, cursor, limit, oldest_first=False)
    return ExceptionPage(items=rows, next_cursor=next_cursor, count=count, counts=counts)


def register_rows(user: Any, filters: ExceptionFilters, limit: int = 100_000) -> Any:
    """Every matching exception newest first, for the CSV export (streamed, in chunks)."""
    require_staff(user)
    qs = filters.apply(PolicyException.objects.all())
    return _with_relations(qs.order_by("-created_at", "-id"))[:limit].iterator(chunk_size=500)


def approvals_queue(user: Any, *, cursor: str | None = None, limit: int = 25) -> ExceptionPage:
    """Pending requests, oldest first: supervisors and admins only."""
    require_supervisor(user, "the approvals queue is for supervisors and admins")
    qs = PolicyException.objects.filter(status=Status.PENDING)
    count = qs.count()
    rows, next_cursor = _page(qs, cursor, limit, oldest_first=True)
    return ExceptionPage(
        items=rows, next_cursor=next_cursor, count=count, counts={Status.PENDING: count}
    )
