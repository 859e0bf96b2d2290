"""Reads of customers, each behind the access check; the 360 view is composed here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from loxodon.cases.models import OPEN_STATUSES, Case, TaskStatus
from loxodon.cases.selectors import cases_of_customer
from loxodon.core.access import require_staff
from loxodon.core.cursor import decode_cursor, encode_cursor
from loxodon.core.errors import InvalidInput, NotFound
from loxodon.core.event_types import CONTACT_KINDS
from loxodon.core.ids import parse_uuid
from loxodon.customers.models import Account, Customer, Identity, Merge
from loxodon.customers.normalise import normalise_identity
from loxodon.sla.clock import short_span as sla_span
from loxodon.sla.models import ClockState
from loxodon.timeline.models import Asset, Event
from loxodon.timeline.selectors import TimelinePage, assets_of_customer, timeline_page

WARRANTY_ALERT_DAYS = 30


def _with_identities(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("account", "home_site").prefetch_related(
        Prefetch(
            "identities", queryset=Identity.objects.select_related("site").order_by("kind", "value")
        )
    )


def get_customer_for(user: Any, customer_id: str | uuid.UUID) -> Customer:
    require_staff(user)
    pk = parse_uuid(customer_id, "customer")
    customer = _with_identities(Customer.objects.filter(pk=pk)).first()
    if customer is None:
        raise NotFound(f"no customer with id '{customer_id}'")
    return customer


def customer_ref_for(user: Any, customer_id: str | uuid.UUID) -> Customer:
    """The customer row alone (no identities, account or site): for writes that only refer to
    the customer, such as opening a case. Same access rule and error as `get_customer_for`."""
    require_staff(user)
    customer = Customer.objects.filter(pk=parse_uuid(customer_id, "customer")).first()
    if customer is None:
        raise NotFound(f"no customer with id '{customer_id}'")
    return customer


def customer_refs_for(user: Any, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """`customer_ref_for` for many customers in one query; NotFound names the first missing."""
    require_staff(user)
    found = {c.pk: c for c in Customer.objects.filter(pk__in=set(customer_ids))}
    for customer_id in customer_ids:
        if customer_id not in found:
            raise NotFound(f"no customer with id '{customer_id}'")
    return found


def merges_of(user: Any, customer: Customer) -> list[Merge]:
    """Merges into and out of a customer, newest first (with who merged and undid them)."""
    require_staff(user)
    return list(
        Merge.objects.filter(Q(survivor_id=customer.pk) | Q(absorbed_id=customer.pk))
        .select_related("survivor", "absorbed", "merged_by", "undone_by")
        .order_by("-created_at", "-id")
    )


def get_merge_for(user: Any, merge_id: str | uuid.UUID) -> Merge:
    require_staff(user)
    pk = parse_uuid(merge_id, "merge")
    merge = (
        Merge.objects.filter(pk=pk)
        .select_related("survivor", "absorbed", "merged_by", "undone_by")
        .first()
    )
    if merge is None:
        raise NotFound(f"no merge with id '{merge_id}'")
    return merge


@dataclass(frozen=True)
class CustomerPage:
    items: list[Customer]
    next_cursor: str | None


def _search_condition(q: str) -> Q:
    condition = Q(name__icontains=q)
    values = {q.strip().lower()}
    for kind in ("email", "phone", "account_number"):
        try:
            values.add(normalise_identity(kind, q))
        except InvalidInput:  # q simply is not that kind of identifier
            continue
    ids = Identity.objects.filter(value__in=values).values("customer_id")
    return condition | Q(pk__in=ids)


def list_customers(
    user: Any, *, q: str | None = None, cursor: str | None = None, limit: int = 50
) -> CustomerPage:
    require_staff(user)
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    qs = Customer.objects.filter(merged_into__isnull=True)  # absorbed records are hidden
    if q and q.strip():
        qs = qs.filter(_search_condition(q.strip()))
    if cursor:
        at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    rows = list(_with_identities(qs.order_by("-created_at", "-id"))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return CustomerPage(items=rows, next_cursor=next_cursor)


@dataclass(frozen=True)
class Alert:
    code: str
    level: str  # info | warning | danger
    message: str


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    account: Account | None
    identities: list[Identity]
    cases: list[Case]
    assets: list[Asset]
    alerts: list[Alert]
    timeline: TimelinePage
    recent_contacts: int = 0


NEGATIVE_SATISFACTION = 2  # 1-5 scale: 1 or 2 is an unhappy customer


def _survey_alert(survey: Event | None) -> Alert | None:
    if survey is None:
        return None
    payload = survey.payload if isinstance(survey.payload, dict) else {}
    # surveys carry `satisfaction` (1-5); older events the same scale under `score`
    score = payload.get("satisfaction", payload.get("score"))
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    if score > NEGATIVE_SATISFACTION:
        return None
    touchpoint = payload.get("touchpoint")
    about = f" about {touchpoint}" if touchpoint else ""
    return Alert(
        "last_survey_negative",
        "danger",
        f"Last survey was negative: satisfaction {score}/5{about} on "
        f"{timezone.localtime(survey.occurred_at):%d %b %Y}",
    )


def _sla_alerts(open_cases: list[Case], now: datetime) -> list[Alert]:
    """A case whose service standard is missed or about to be (its clock, read with the case)."""
    alerts = []
    for case in open_cases:
        # selected with the case; missing when the worker never checked it (the reverse
        # one-to-one's DoesNotExist is also an AttributeError)
        clock = getattr(case, "sla_clock", None)
        if clock is None:
            continue
        state = clock.display_state(now)
        due = clock.next_due_at
        if state == ClockState.BREACHED:
            at = clock.breached_at(now) or now
            alerts.append(
                Alert(
                    "sla_breached",
                    "danger",
                    f"Case '{case.title}' missed its service standard "
                    f"{sla_span(now - at)} ago (was due {timezone.localtime(at):%d %b %H:%M}): "
                    "apologise and say what happens next",
                )
            )
        elif state == ClockState.AT_RISK and due is not None:
            alerts.append(
                Alert(
                    "sla_at_risk",
                    "warning",
                    f"Case '{case.title}' is about to miss its service standard: "
                    f"due in {sla_span(due - now)} ({timezone.localtime(due):%d %b %H:%M})",
                )
            )
    return alerts


MANY_OPEN_TASKS = 3  # open tasks across at least two departments: the problem is spread around


def _open_tasks_alert(open_cases: list[Case]) -> Alert | None:
    """Work for this customer waits in several departments (tasks are prefetched)."""
    tasks = [t for c in open_cases for t in c.tasks.all() if t.status == TaskStatus.OPEN]
    departments = sorted({t.department.name for t in tasks})
    if len(tasks) < MANY_OPEN_TASKS or len(departments) < 2:
        return None
    return Alert(
        "many_open_tasks",
        "warning",
        f"{len(tasks)} open tasks across {len(departments)} departments "
        f"({', '.join(departments)}): check where things stand before promising anything",
    )


def _alerts(
    cases: list[Case], assets: list[Asset], recent_contacts: int, survey: Event | None = None
) -> list[Alert]:
    alerts = []
    open_cases = [c for c in cases if c.status in OPEN_STATUSES]
    if open_cases:
        alerts.append(
            Alert(
                "open_cases",
                "warning",
                f"{len(open_cases)} open case{'s' if len(open_cases) != 1 else ''}: "
                + "; ".join(c.title for c in open_cases[:3]),
            )
        )
    days = settings.LOXODON_REPEAT_CONTACT_DAYS
    if recent_contacts >= 2:
        alerts.append(
            Alert(
                "repeat_contact",
                "danger",
                f"{recent_contacts} contacts in the last {days} days: the customer is coming back",
            )
        )
    alerts += _sla_alerts(open_cases, timezone.now())
    tasks_alert = _open_tasks_alert(open_cases)
    if tasks_alert is not None:
        alerts.append(tasks_alert)
    survey_alert = _survey_alert(survey)
    if survey_alert is not None:
        alerts.append(survey_alert)
    today = timezone.localdate()
    for asset in assets:
        if asset.warranty_until and today <= asset.warranty_until <= today + timedelta(
            days=WARRANTY_ALERT_DAYS
        ):
            left = (asset.warranty_until - today).days
            alerts.append(
                Alert(
                    "warranty_ending",
                    "info",
                    f"Warranty of {asset.product} ends in {left} days "
                    f"({asset.warranty_until.isoformat()})",
                )
            )
    return alerts


def customer_view(
    user: Any,
    customer_id: str | uuid.UUID,
    *,
    cursor: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> CustomerView:
    """The whole customer in a fixed number of queries, whatever the length of their history:
    customer+account+site, identities, open cases, recent closed cases, tasks, assets,
    recent-contact count, latest survey, timeline page."""
    customer = get_customer_for(user, customer_id)
    cases = cases_of_customer(user, customer.pk)
    assets = assets_of_customer(user, customer.pk)
    since = timezone.now() - timedelta(days=settings.LOXODON_REPEAT_CONTACT_DAYS)
    # Contacts the customer made (or took part in): our own outbound messages do not count.
    recent_contacts = (
        Event.objects.filter(
            customer_id=customer.pk, occurred_at__gte=since, kind__in=CONTACT_KINDS
        )
        .exclude(payload__has_key="direction", payload__direction="outbound")
        .count()
    )
    last_survey = (
        Event.objects.filter(customer_id=customer.pk, kind="survey")
        .order_by("-occurred_at", "-id")
        .first()
    )
    page = timeline_page(user, customer.pk, cursor=cursor, channel=channel, kind=kind, limit=limit)
    return CustomerView(
        customer=customer,
        account=customer.account,
        identities=list(customer.identities.all()),
        cases=cases,
        assets=assets,
        alerts=_alerts(cases, assets, recent_contacts, last_survey),
        timeline=page,
        recent_contacts=recent_contacts,
    )
