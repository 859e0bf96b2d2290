"""Experience figures, computed from what happened — never typed in.

Pure, access-checked reads (no models of their own): effort per case and its rollups, CSAT by
touchpoint and department, the sales x service "rings" report and (from the sla app) service
standard compliance. Every public function starts with `require_supervisor(user)`.

Definitions (docs/insights.md explains them for readers of the dashboard):

* **contacts** — customer-initiated interactions (`CONTACT_KINDS`, without our own outbound
  messages and without the `confirmation` record, which restates a contact already counted) on
  the case, plus those on the customer's timeline attached to no case between one hour before the
  case was opened (the contact that led to it) and its end (confirmation or honest close).
* **transfers** of the customer — handoffs of the case (ownership moving). Tasks are not
  transfers: the customer keeps one owner while departments work.
* **agents** — distinct staff acting on the case's events plus task assignees; **departments** —
  distinct departments with a task on the case.
* **repeats** — `repeat` events (the customer had to re-identify or repeat information) on the
  case or on the customer's unattached timeline within the case's window.
* **customer messages** — inbound messages and chats from the customer (same scope as contacts);
  **messages to the customer** — our outbound messages on the case.
* **days to confirmed resolution** — opening → customer confirmation; None unless confirmed.
* **premature closures** — times the case was *closed* (resolved or closed unconfirmed) and then
  reopened. A proposed resolution is not a closure: the case stays open to the customer until
  they confirm, so "still broken" after a proposal is the process working and is counted
  separately as **proposals reopened**.
* Surveys: satisfaction 1-5 (`satisfaction`, or the older `score`); **positive** ≥ 4, **negative**
  ≤ 2, **neutral** = 3. Intent `yes`/`maybe`/`no` (or the older boolean `would_buy_again`).
"""

from __future__ import annotations

import importlib
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from loxodon.cases.models import Case, CaseStatus, Handoff, Task
from loxodon.cases.selectors import get_case_for
from loxodon.core.access import require_staff
from loxodon.core.errors import InvalidInput, PermissionDenied
from loxodon.core.event_types import CONTACT_KINDS
from loxodon.org.models import Department, Role, Site
from loxodon.timeline.models import Event

# --- access --------------------------------------------------------------------------------------


def require_supervisor(user: Any) -> None:
    """Figures about everyone's work are for supervisors and admins."""
    require_staff(user)
    if not (user.role in (Role.SUPERVISOR, Role.ADMIN) or user.is_admin_role):
        raise PermissionDenied("insights are for supervisors and admins")


# --- filters -------------------------------------------------------------------------------------

PERIODS = {"30": 30, "90": 90, "365": 365}
DEFAULT_PERIOD = "90"


@dataclass(frozen=True)
class Filters:
    """Which cases and surveys a figure covers: [since, until), optionally one site/department."""

    since: datetime
    until: datetime
    site: str | None = None
    department: str | None = None
    period: str = DEFAULT_PERIOD  # "30" | "90" | "365" | "custom"

    def as_params(self) -> dict[str, str]:
        """The query string that reproduces these filters (links, CSV exports)."""
        params = {"site": self.site or "", "department": self.department or ""}
        if self.period == "custom":
            last_day = (self.until - timedelta(days=1)).astimezone(timezone.get_current_timezone())
            params |= {"period": "custom", "from": self.since.date().isoformat()}
            params["to"] = last_day.date().isoformat()
        else:
            params["period"] = self.period
        return {k: v for k, v in params.items() if v}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-01-31, not '{value}'") from None


def filters_from(params: Mapping[str, Any], *, now: datetime | None = None) -> Filters:
    """Filters from a query string: `period` (30/90/365 days, or `custom` with `from`/`to` dates,
    both inclusive), `site` and `department` codes. `since`/`until` (ISO dates or datetimes) are
    accepted too, for the API. Unknown periods fall back to the default; bad dates are errors."""
    now = now or timezone.now()
    site = (params.get("site") or "").strip() or None
    department = (params.get("department") or "").strip() or None
    period = (params.get("period") or "").strip()
    date_from = (params.get("from") or params.get("since") or "").strip()
    date_to = (params.get("to") or params.get("until") or "").strip()
    if period == "custom" or (not period and (date_from or date_to)):
        today = timezone.localdate(now)
        start = _parse_day(date_from[:10], "from") if date_from else today - timedelta(days=89)
        end = _parse_day(date_to[:10], "to") if date_to else today
        if end < start:
            raise InvalidInput("'to' is before 'from'")
        return Filters(
            _day_start(start), _day_start(end + timedelta(days=1)), site, department, "custom"
        )
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    return Filters(now - timedelta(days=PERIODS[period]), now, site, department, period)


# --- effort per case ----------------------------------------------------------------------------

CONTACT_LEAD = timedelta(hours=1)  # the contact that led to the case arrives just before it
MESSAGE_KINDS = frozenset({"message", "chat"})
COUNTED_CONTACTS = CONTACT_KINDS - {"confirmation"}
FINISHED = frozenset({CaseStatus.RESOLVED_CONFIRMED.value, CaseStatus.CLOSED_UNCONFIRMED.value})
PROPOSED = CaseStatus.RESOLUTION_PROPOSED.value


@dataclass(frozen=True)
class CaseEffort:
    case_id: uuid.UUID
    title: str
    status: str
    opened_at: datetime
    site_code: str | None
    site_name: str | None
    department_code: str | None  # the owner's department
    department_name: str | None
    owner: str | None
    contacts: int
    transfers: int
    agents: int
    departments: int
    repeats: int
    customer_messages: int
    messages_to_customer: int
    days_to_confirmed_resolution: float | None
    reopens: int
    closed_unconfirmed: bool
    premature_closures: int
    proposals_reopened: int

    @property
    def confirmed(self) -> bool:
        return self.status == CaseStatus.RESOLVED_CONFIRMED


def _outbound(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("direction") in ("outbound", "out")


@dataclass
class _Tally:
    contacts: int = 0
    repeats: int = 0
    customer_messages: int = 0
    messages_to_customer: int = 0
    premature_closures: int = 0
    proposals_reopened: int = 0
    closed_at: datetime | None = None
    agents: set[Any] = field(default_factory=set)
    departments: set[str] = field(default_factory=set)

    def customer_side(self, kind: str, payload: Any) -> None:
        """A contact-ish event in the case's scope (attached, or unattached within its window)."""
        if kind == "repeat":
            self.repeats += 1
        elif kind in COUNTED_CONTACTS:
            if _outbound(payload):
                if kind in MESSAGE_KINDS:
                    self.messages_to_customer += 1
                return
            self.contacts += 1
            if kind in MESSAGE_KINDS:
                self.customer_messages += 1


def _efforts(cases_qs: QuerySet[Case]) -> list[CaseEffort]:
    """Effort figures for every case of `cases_qs` in five queries, whatever their number."""
    cases = list(cases_qs.select_related("site", "owner__department").order_by("created_at", "id"))
    if not cases:
        return []
    subquery = cases_qs.values("pk")
    tallies = {c.pk: _Tally() for c in cases}

    case_events = Event.objects.filter(case__in=subquery).values_list(
        "case_id", "kind", "actor_id", "payload", "occurred_at"
    )
    for case_id, kind, actor_id, payload, occurred_at in case_events:
        tally = tallies[case_id]
        if actor_id is not None:
            tally.agents.add(actor_id)
        tally.customer_side(kind, payload)
        if kind == "status_change" and isinstance(payload, dict):
            old, new = payload.get("from"), payload.get("to")
            if old in FINISHED and new not in FINISHED:
                tally.premature_closures += 1
            elif old == PROPOSED and new not in FINISHED and new != PROPOSED:
                tally.proposals_reopened += 1
            if new == CaseStatus.CLOSED_UNCONFIRMED:
                tally.closed_at = occurred_at

    for case_id, department, assignee_id in Task.objects.filter(case__in=subquery).values_list(
        "case_id", "department__code", "assignee_id"
    ):
        tallies[case_id].departments.add(department)
        if assignee_id is not None:
            tallies[case_id].agents.add(assignee_id)

    transfers = dict(
        Handoff.objects.filter(case__in=subquery)
        .values("case_id")
        .annotate(n=Count("id"))
        .values_list("case_id", "n")
    )

    def window_end(case: Case) -> datetime | None:
        if case.status == CaseStatus.RESOLVED_CONFIRMED:
            return case.resolved_at
        if case.status == CaseStatus.CLOSED_UNCONFIRMED:
            return tallies[case.pk].closed_at
        return None

    # The customers' unattached contacts and repeats, in one range read, shared out by window.
    by_customer: dict[Any, list[Case]] = defaultdict(list)
    for case in cases:
        by_customer[case.customer_id].append(case)
    earliest = min(c.created_at for c in cases) - CONTACT_LEAD
    loose = Event.objects.filter(
        customer__in=cases_qs.values("customer_id"),
        case__isnull=True,
        kind__in=[*COUNTED_CONTACTS, "repeat"],
        occurred_at__gte=earliest,
    ).values_list("customer_id", "kind", "payload", "occurred_at")
    for customer_id, kind, payload, occurred_at in loose:
        for case in by_customer[customer_id]:
            end = window_end(case)
            if case.created_at - CONTACT_LEAD <= occurred_at and (
                end is None or occurred_at <= end
            ):
                tallies[case.pk].customer_side(kind, payload)

    out = []
    for case in cases:
        tally = tallies[case.pk]
        days = None
        if case.status == CaseStatus.RESOLVED_CONFIRMED and case.resolved_at:
            days = round((case.resolved_at - case.created_at).total_seconds() / 86400, 1)
        owner = case.owner
        dept = owner.department if owner else None
        out.append(
            CaseEffort(
                case_id=case.pk,
                title=case.title,
                status=case.status,
                opened_at=case.created_at,
                site_code=case.site.code if case.site else None,
                site_name=case.site.name if case.site else None,
                department_code=dept.code if dept else None,
                department_name=dept.name if dept else None,
                owner=owner.username if owner else None,
                contacts=tally.contacts,
                transfers=transfers.get(case.pk, 0),
                agents=len(tally.agents),
                departments=len(tally.departments),
                repeats=tally.repeats,
                customer_messages=tally.customer_messages,
                messages_to_customer=tally.messages_to_customer,
                days_to_confirmed_resolution=days,
                reopens=case.reopen_count,
                closed_unconfirmed=case.status == CaseStatus.CLOSED_UNCONFIRMED,
                premature_closures=tally.premature_closures,
                proposals_reopened=tally.proposals_reopened,
            )
        )
    return out


def _filtered_cases(filters: Filters) -> QuerySet[Case]:
    cases = Case.objects.filter(created_at__gte=filters.since, created_at__lt=filters.until)
    if filters.site:
        cases = cases.filter(site__code=filters.site)
    if filters.department:
        cases = cases.filter(owner__department__code=filters.department)
    return cases


def case_effort(user: Any, case_id: str | uuid.UUID) -> CaseEffort:
    """The effort figures of one case."""
    require_supervisor(user)
    case = get_case_for(user, case_id)
    return _efforts(Case.objects.filter(pk=case.pk))[0]


def effort_by_case(user: Any, filters: Filters) -> list[CaseEffort]:
    """Effort figures of every case opened in the period (oldest first)."""
    require_supervisor(user)
    return _efforts(_filtered_cases(filters))


# --- rollups -------------------------------------------------------------------------------------

Grouping = Literal["site", "department", "week", "month"]
GROUPINGS: tuple[Grouping, ...] = ("site", "department", "week", "month")


@dataclass(frozen=True)
class EffortRollup:
    key: str
    label: str
    cases: int
    contacts_per_case: float
    transfers_per_case: float
    transfers: int
    agents_per_case: float
    departments_per_case: float
    repeats_per_case: float
    customer_messages_per_case: float
    confirmed: int
    days_to_confirmed_resolution: float | None  # mean over confirmed cases
    reopens: int
    closed_unconfirmed: int
    premature_closures: int


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return round(sum(items) / len(items), 2) if items else None


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _group_key(by: Grouping) -> Callable[[CaseEffort], tuple[str, str]]:
    def site(e: CaseEffort) -> tuple[str, str]:
        return (e.site_code or "", e.site_name or "No site")

    def department(e: CaseEffort) -> tuple[str, str]:
        return (e.department_code or "", e.department_name or "No department")

    def week(e: CaseEffort) -> tuple[str, str]:
        day = _local_day(e.opened_at)
        monday = day - timedelta(days=day.weekday())
        return (monday.isoformat(), f"Week of {monday:%d %b %Y}")

    def month(e: CaseEffort) -> tuple[str, str]:
        first = _local_day(e.opened_at).replace(day=1)
        return (first.isoformat(), f"{first:%B %Y}")

    return {"site": site, "department": department, "week": week, "month": month}[by]


def rollup(efforts: Iterable[CaseEffort], by: Grouping) -> list[EffortRollup]:
    """Per-case figures summed up by site, the owner's department, or the week/month the case was
    opened (local time), in one pass. Periods come in date order, sites/departments by name."""
    if by not in GROUPINGS:
        raise InvalidInput(f"group by one of: {', '.join(GROUPINGS)}")
    key_of = _group_key(by)
    groups: dict[tuple[str, str], list[CaseEffort]] = defaultdict(list)
    for effort in efforts:
        groups[key_of(effort)].append(effort)
    order = (lambda k: k[0]) if by in ("week", "month") else (lambda k: (k[1].lower(), k[0]))
    return [_summary(key[0], key[1], groups[key]) for key in sorted(groups, key=order)]


def _summary(key: str, label: str, items: list[CaseEffort]) -> EffortRollup:
    n = len(items)
    confirmed = [e.days_to_confirmed_resolution for e in items if e.confirmed]
    return EffortRollup(
        key=key,
        label=label,
        cases=n,
        contacts_per_case=round(sum(e.contacts for e in items) / n, 2),
        transfers_per_case=round(sum(e.transfers for e in items) / n, 2),
        transfers=sum(e.transfers for e in items),
        agents_per_case=round(sum(e.agents for e in items) / n, 2),
        departments_per_case=round(sum(e.departments for e in items) / n, 2),
        repeats_per_case=round(sum(e.repeats for e in items) / n, 2),
        customer_messages_per_case=round(sum(e.customer_messages for e in items) / n, 2),
        confirmed=len(confirmed),
        days_to_confirmed_resolution=_mean(d for d in confirmed if d is not None),
        reopens=sum(e.reopens for e in items),
        closed_unconfirmed=sum(1 for e in items if e.closed_unconfirmed),
        premature_closures=sum(e.premature_closures for e in items),
    )


def effort_rollup(user: Any, filters: Filters, by: Grouping) -> list[EffortRollup]:
    require_supervisor(user)
    if by not in GROUPINGS:
        raise InvalidInput(f"group by one of: {', '.join(GROUPINGS)}")
    return rollup(_efforts(_filtered_cases(filters)), by)


# --- surveys -------------------------------------------------------------------------------------

POSITIVE_FROM = 4  # satisfaction 4-5 is positive
NEGATIVE_TO = 2  # 1-2 is negative; 3 is neutral
MIN_N = 30  # below this many answers a share is shown with a small-sample note
TOUCHPOINTS = ("sales", "service", "support")
INTENTS = ("yes", "maybe", "no")
NO_CASE = "no case"


@dataclass(frozen=True)
class Survey:
    customer_id: uuid.UUID
    occurred_at: datetime
    touchpoint: str
    satisfaction: int
    effort: int | None
    intent: str | None
    site_code: str | None  # the case's site, else the survey event's
    department_code: str | None  # the case owner's department; None when the survey has no case
    department_name: str | None

    @property
    def rating(self) -> str:
        return rating(self.satisfaction)


def rating(satisfaction: int) -> str:
    if satisfaction >= POSITIVE_FROM:
        return "positive"
    if satisfaction <= NEGATIVE_TO:
        return "negative"
    return "neutral"


def _small_int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if low <= number <= high and number == float(value) else None


def read_survey(payload: Any) -> tuple[str, int, int | None, str | None] | None:
    """(touchpoint, satisfaction, effort, intent) from a survey payload, old or new shape, or None
    when it carries no usable touchpoint and satisfaction."""
    if not isinstance(payload, dict):
        return None
    touchpoint = payload.get("touchpoint")
    satisfaction = _small_int(payload.get("satisfaction", payload.get("score")), 1, 5)
    if touchpoint not in TOUCHPOINTS or satisfaction is None:
        return None
    intent = payload.get("intent")
    if intent not in INTENTS:
        old = payload.get("would_buy_again")
        intent = {True: "yes", False: "no"}.get(old) if isinstance(old, bool) else None
    return touchpoint, satisfaction, _small_int(payload.get("effort"), 1, 7), intent


def _surveys(filters: Filters, *, earlier_sales: bool = False) -> list[Survey]:
    """Survey events of the period, read and placed (site, department) in two queries, not yet
    filtered by place (see `_placed`); with `earlier_sales`, sales surveys from before the period
    too (to pair with later service answers)."""
    in_period = Q(occurred_at__gte=filters.since)
    if earlier_sales:
        in_period |= Q(payload__touchpoint="sales")
    rows = list(
        Event.objects.filter(in_period, kind="survey", occurred_at__lt=filters.until)
        .order_by("customer_id", "occurred_at", "id")
        .values_list("customer_id", "occurred_at", "payload", "case_id", "site__code")
    )
    case_ids: dict[int, uuid.UUID] = {}
    for n, (_, _, payload, case_id, _) in enumerate(rows):
        raw = payload.get("case_id") if isinstance(payload, dict) else None
        try:
            case_ids[n] = uuid.UUID(str(raw)) if raw else case_id
        except ValueError:
            case_ids[n] = case_id
    places = (
        {
            pk: (site, dept, name)
            for pk, site, dept, name in Case.objects.filter(
                pk__in={c for c in case_ids.values() if c}
            ).values_list("pk", "site__code", "owner__department__code", "owner__department__name")
        }
        if any(case_ids.values())
        else {}
    )
    surveys = []
    for n, (customer_id, occurred_at, payload, _, event_site) in enumerate(rows):
        answer = read_survey(payload)
        if answer is None:
            continue
        site, dept, dept_name = places.get(case_ids[n], (event_site, None, None))
        surveys.append(
            Survey(customer_id, occurred_at, *answer, site or event_site, dept, dept_name)
        )
    return surveys


def _placed(survey: Survey, filters: Filters) -> bool:
    """Whether a survey falls in the filters' site and department (of its case, if any)."""
    if filters.site and survey.site_code != filters.site:
        return False
    return not (filters.department and survey.department_code != filters.department)


def _period_surveys(surveys: list[Survey], filters: Filters) -> list[Survey]:
    return [s for s in surveys if s.occurred_at >= filters.since and _placed(s, filters)]


def _period_pairs(surveys: list[Survey], filters: Filters) -> list[tuple[Survey, Survey]]:
    """Pairs whose service/support answer falls in the period, site and department: the sales
    survey before it may be older, or from elsewhere (sales surveys rarely have a case)."""
    return [
        (sales, service)
        for sales, service in pair_surveys(surveys)
        if service.occurred_at >= filters.since and _placed(service, filters)
    ]


@dataclass(frozen=True)
class CsatRow:
    key: str
    label: str
    responses: int
    satisfaction_avg: float | None
    csat_percent: float | None  # share of answers rating 4-5
    effort_avg: float | None
    intent_yes_percent: float | None  # among answers that state an intent
    small_sample: bool


@dataclass(frozen=True)
class CsatReport:
    by_touchpoint: list[CsatRow]
    by_department: list[CsatRow]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _csat_row(key: str, label: str, items: list[Survey]) -> CsatRow:
    intents = [s.intent for s in items if s.intent]
    return CsatRow(
        key=key,
        label=label,
        responses=len(items),
        satisfaction_avg=_mean(s.satisfaction for s in items),
        csat_percent=_percent(sum(1 for s in items if s.satisfaction >= POSITIVE_FROM), len(items)),
        effort_avg=_mean(s.effort for s in items if s.effort is not None),
        intent_yes_percent=_percent(intents.count("yes"), len(intents)),
        small_sample=len(items) < MIN_N,
    )


def _csat_report(surveys: list[Survey]) -> CsatReport:
    by_touchpoint = [
        _csat_row(t, t.capitalize(), [s for s in surveys if s.touchpoint == t])
        for t in TOUCHPOINTS
        if any(s.touchpoint == t for s in surveys)
    ]
    departments: dict[tuple[str, str], list[Survey]] = defaultdict(list)
    for s in surveys:
        departments[(s.department_code or NO_CASE, s.department_name or "No case")].append(s)
    by_department = [
        _csat_row(code, name, departments[(code, name)])
        for code, name in sorted(departments, key=lambda k: (k[0] == NO_CASE, k[1].lower()))
    ]
    return CsatReport(by_touchpoint, by_department)


def csat(user: Any, filters: Filters) -> CsatReport:
    """CSAT (share of 4-5 ratings) by touchpoint, and by the department of the case's owner for
    surveys about a case ("no case" otherwise)."""
    require_supervisor(user)
    return _csat_report(_period_surveys(_surveys(filters), filters))


# --- the rings report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RingsCell:
    sales: str  # positive | negative
    service: str  # positive | negative
    pairs: int
    intent_known: int
    intent_yes: int
    intent_yes_percent: float | None
    small_sample: bool


@dataclass(frozen=True)
class RingsLine:
    sales: str
    pairs: int  # service answers after this kind of sales experience (neutral service included)
    positive_service: int
    positive_service_percent: float | None
    small_sample: bool


@dataclass(frozen=True)
class RingsReport:
    cells: list[RingsCell]
    after_positive_sales: RingsLine
    after_negative_sales: RingsLine
    pairs: int
    neutral_sales_pairs: int  # left out of the table: sales rated 3
    neutral_service_pairs: int  # in the headline denominators, not in the 2x2 cells
    min_n: int = MIN_N

    @property
    def empty(self) -> bool:
        return self.pairs == 0


def pair_surveys(surveys: Iterable[Survey]) -> list[tuple[Survey, Survey]]:
    """Per customer, the latest sales survey paired with the next service or support survey after
    it; each survey is used at most once. `surveys` must be ordered by customer, then time."""
    pairs = []
    pending: dict[uuid.UUID, Survey] = {}
    for s in surveys:
        if s.touchpoint == "sales":
            pending[s.customer_id] = s
        elif s.customer_id in pending and pending[s.customer_id].occurred_at <= s.occurred_at:
            pairs.append((pending.pop(s.customer_id), s))
    return pairs


def rings_from(pairs: list[tuple[Survey, Survey]]) -> RingsReport:
    cells = []
    for sales in ("positive", "negative"):
        for service in ("positive", "negative"):
            items = [p for p in pairs if p[0].rating == sales and p[1].rating == service]
            intents = [p[1].intent for p in items if p[1].intent]
            cells.append(
                RingsCell(
                    sales=sales,
                    service=service,
                    pairs=len(items),
                    intent_known=len(intents),
                    intent_yes=intents.count("yes"),
                    intent_yes_percent=_percent(intents.count("yes"), len(intents)),
                    small_sample=len(intents) < MIN_N,
                )
            )

    def line(sales: str) -> RingsLine:
        after = [p for p in pairs if p[0].rating == sales]
        good = sum(1 for p in after if p[1].rating == "positive")
        return RingsLine(sales, len(after), good, _percent(good, len(after)), len(after) < MIN_N)

    counts = Counter((p[0].rating, p[1].rating) for p in pairs)
    return RingsReport(
        cells=cells,
        after_positive_sales=line("positive"),
        after_negative_sales=line("negative"),
        pairs=len(pairs),
        neutral_sales_pairs=sum(n for (sales, _), n in counts.items() if sales == "neutral"),
        neutral_service_pairs=sum(
            n
            for (sales, service), n in counts.items()
            if service == "neutral" and sales != "neutral"
        ),
    )


def rings(user: Any, filters: Filters) -> RingsReport:
    """The sales x service table the customers' research used, from our own survey events: a
    pair counts when its service/support answer falls in the period, site and department."""
    require_supervisor(user)
    return rings_from(_period_pairs(_surveys(filters, earlier_sales=True), filters))


# --- service standards (the sla app's figures) ---------------------------------------------------


def sla_compliance(user: Any, filters: Filters) -> list[Any] | None:
    """SLA compliance rows by site from `loxodon.sla.selectors.compliance_by_site`, or None while
    that app does not provide it (the dashboard then says the figures are not available)."""
    require_supervisor(user)
    try:
        module = importlib.import_module("loxodon.sla.selectors")
    except ImportError:
        return None
    compliance_by_site = getattr(module, "compliance_by_site", None)
    if compliance_by_site is None:
        return None
    return list(
        compliance_by_site(
            user,
            since=filters.since,
            until=filters.until,
            site=filters.site,
            department=filters.department,
        )
    )


# --- filter choices ------------------------------------------------------------------------------


def filter_choices(user: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(sites, departments) as (code, name) for the filter form."""
    require_supervisor(user)
    sites = list(Site.objects.order_by("name").values_list("code", "name"))
    departments = list(Department.objects.order_by("name").values_list("code", "name"))
    return sites, departments


# --- the dashboard, in a fixed number of queries -------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    cases: list[CaseEffort]
    total: EffortRollup | None  # every case of the period together; None when there are none
    by_week: list[EffortRollup]
    by_site: list[EffortRollup]
    by_department: list[EffortRollup]
    csat: CsatReport
    rings: RingsReport
    sla: list[Any] | None  # None: the sla app provides no figures (yet)


def dashboard(user: Any, filters: Filters) -> Dashboard:
    """Everything the insights page shows: one read of the cases' effort, one of the surveys."""
    require_supervisor(user)
    efforts = _efforts(_filtered_cases(filters))
    surveys = _surveys(filters, earlier_sales=True)
    return Dashboard(
        filters=filters,
        cases=efforts,
        total=_summary("all", "All cases", efforts) if efforts else None,
        by_week=rollup(efforts, "week"),
        by_site=rollup(efforts, "site"),
        by_department=rollup(efforts, "department"),
        csat=_csat_report(_period_surveys(surveys, filters)),
        rings=rings_from(_period_pairs(surveys, filters)),
        sla=sla_compliance(user, filters),
    )


# --- tables for export (CSV) ---------------------------------------------------------------------

EXPORTS = ("effort-by-case", "effort-rollup", "csat", "rings")
Table = tuple[list[str], list[list[Any]]]


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _rows(items: Iterable[Any], columns: list[str]) -> list[list[Any]]:
    return [[_blank(getattr(item, c)) for c in columns] for item in items]


EFFORT_COLUMNS = [
    f.name for f in fields(CaseEffort) if f.name not in ("site_name", "department_name")
]
ROLLUP_COLUMNS = [f.name for f in fields(EffortRollup)]
CSAT_COLUMNS = [f.name for f in fields(CsatRow) if f.name != "small_sample"]
RINGS_COLUMNS = ["sales", "service", "pairs", "intent_known", "intent_yes", "intent_yes_percent"]


def export_table(user: Any, name: str, filters: Filters, *, by: str = "site") -> Table:
    """(header, rows) of one export, with the dashboard's filters."""
    require_supervisor(user)
    if name == "effort-by-case":
        return EFFORT_COLUMNS, _rows(effort_by_case(user, filters), EFFORT_COLUMNS)
    if name == "effort-rollup":
        if by not in GROUPINGS:
            raise InvalidInput(f"group by one of: {', '.join(GROUPINGS)}")
        rows = _rows(effort_rollup(user, filters, by), ROLLUP_COLUMNS)  # type: ignore[arg-type]
        return [f"{by}_{ROLLUP_COLUMNS[0]}", *ROLLUP_COLUMNS[1:]], rows
    if name == "csat":
        report = csat(user, filters)
        return ["group", *CSAT_COLUMNS], [
            ["touchpoint", *row] for row in _rows(report.by_touchpoint, CSAT_COLUMNS)
        ] + [["department", *row] for row in _rows(report.by_department, CSAT_COLUMNS)]
    if name == "rings":
        table = rings(user, filters)
        lines = [
            [line.sales, "any", line.pairs, "", "", "", _blank(line.positive_service_percent)]
            for line in (table.after_positive_sales, table.after_negative_sales)
        ]
        cells = [[*row, ""] for row in _rows(table.cells, RINGS_COLUMNS)]
        return [*RINGS_COLUMNS, "positive_service_percent"], cells + lines
    raise InvalidInput(f"no export '{name}': choose one of {', '.join(EXPORTS)}")
