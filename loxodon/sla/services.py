"""Every write of the sla app: refreshing a case's clock (warnings, breaches, escalation),
scheduling the worker, and editing standards, business hours and holidays (ADR 10)."""

from __future__ import annotations

import itertools
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.cases.models import FINISHED, OPEN_STATUSES, Case, Priority
from loxodon.core import live
from loxodon.core.access import require_staff
from loxodon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loxodon.org.models import Department, Role, Site, User
from loxodon.sla import events
from loxodon.sla.clock import Clock, TargetClock, compute_clock
from loxodon.sla.models import TARGETS, BusinessHours, CaseClock, Holiday, ServiceStandard
from loxodon.sla.schedule import schedule_sla_check, schedule_sla_sweep
from loxodon.sla.selectors import calendar_for, standard_for
from loxodon.timeline.models import Event

log = logging.getLogger(__name__)

# The kinds the clock reads (see sla.clock): status changes, contacts, and what we recorded.
CLOCK_KINDS = ("status_change", "message", "call", "chat", "visit", "sla_warning", "sla_breached")


def _recheck_every() -> timedelta:
    return timedelta(minutes=getattr(settings, "LOXODON_SLA_RECHECK_MINUTES", 60))


def _supervisors(case: Case) -> list[User]:
    """Who hears about a breach: the site's supervisors, else the admins."""
    people = list(
        User.objects.filter(role=Role.SUPERVISOR, site=case.site, is_active=True).order_by(
            "username"
        )
    )
    if not people:
        people = list(User.objects.filter(role=Role.ADMIN, is_active=True).order_by("username"))
    return people


def _escalate(
    case: Case, target: TargetClock, standard: ServiceStandard | None, clock: Clock
) -> None:
    notified = _supervisors(case)
    reassigned: User | None = None
    if standard is not None and standard.reassign_on_breach and notified:
        to = notified[0]
        if case.owner_id != to.pk and not case.is_finished:
            reason = f"Service standard missed ({target.target.replace('_', ' ')})"
            if case.owner_id is None:
                case_services.assign_owner(case=case, owner=to, actor=None)
            else:
                context = (
                    f"{reason}: it was due {target.due_at:%Y-%m-%d %H:%M} UTC. "
                    "Escalated automatically to a supervisor; the customer is waiting."
                )
                case_services.hand_off(case=case, to=to, context=context, actor=None)
            reassigned = to
    events.escalated(case, target, str(standard.pk) if standard else None, notified, reassigned)
    detail = f"Service standard missed on case “{case.title}”"
    customer_id = case.customer_id
    facts = {"case_id": str(case.pk), "target": target.target}
    people = [p.pk for p in notified]

    def notify() -> None:  # a screen-pop of the customer on each supervisor's desk
        for pk in people:
            live.screen_pop(
                pk, customer_id=customer_id, reason="Service standard missed", detail=detail,
                facts=facts,
            )  # fmt: skip

    transaction.on_commit(notify)


def _apply(row: CaseClock, clock: Clock, standard: ServiceStandard | None, now: datetime) -> None:
    row.standard = standard
    row.state = clock.state
    row.next_due_at = clock.next_due_at
    row.next_warn_at = clock.next_warn_at
    row.breached_since = clock.breached_since
    row.paused_since = clock.paused_since
    row.paused_minutes = int(clock.paused.total_seconds() // 60)
    row.ever_breached = row.ever_breached or clock.ever_breached
    for name in TARGETS:
        t = clock.targets.get(name)
        setattr(row, f"{name}_due_at", t.due_at if t else None)
        setattr(row, f"{name}_met_at", t.met_at if t else None)
        if name == "next_response":
            if t is None or row.next_response_since != t.since:  # a new cycle: fresh flags
                row.next_response_warned_at = None
                row.next_response_breached_at = None
            row.next_response_since = t.since if t else None
        if t is not None and t.state == "at_risk" and getattr(row, f"{name}_warned_at") is None:
            setattr(row, f"{name}_warned_at", now)
        if t is not None and t.breached_at and getattr(row, f"{name}_breached_at") is None:
            setattr(row, f"{name}_breached_at", t.breached_at)
    row.computed_at = now


@transaction.atomic
def refresh_case_clock(*, case_id: uuid.UUID, now: datetime | None = None) -> CaseClock | None:
    """Recompute the case's clock from its history and persist it; record each warning and
    breach once (and escalate a breach that is still unanswered); schedule the next check.

    Idempotent: running it twice at the same `now` changes nothing the second time. Returns
    None when the case does not exist (deleted since the job was queued).
    """
    now = now or timezone.now()
    if now.tzinfo is None:
        raise InvalidInput("now must be an aware datetime")
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("site", "owner")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        return None
    history = list(
        Event.objects.filter(case_id=case.pk, kind__in=CLOCK_KINDS).only(
            "kind", "occurred_at", "payload"
        )
    )
    standard = standard_for(case)
    clock = compute_clock(case, history, calendar_for(case.site), standard, now)
    row = CaseClock.objects.select_for_update().filter(case_id=case.pk).first()
    if row is None:
        row = CaseClock(case=case)
    standard_id = str(standard.pk) if standard else None
    for target in clock.warnings_due:
        events.warned(case, target, standard_id)
    for target in clock.breaches_due:
        events.breached(case, target, standard_id)
        if target.met_at is None and case.status not in FINISHED:
            _escalate(case, target, standard, clock)
    _apply(row, clock, standard, now)
    _plan_next_check(row, case, clock, standard, now)
    row.save()
    return row


def _plan_next_check(
    row: CaseClock, case: Case, clock: Clock, standard: ServiceStandard | None, now: datetime
) -> None:
    """The next moment the worker should look again: the next warning or due time, capped at
    `LOXODON_SLA_RECHECK_MINUTES` while the case is open (its history moves without telling
    us: replies, pauses). A job already queued for an earlier moment is kept (chains merge)."""
    if case.status not in OPEN_STATUSES or standard is None:
        row.next_check_at = None
        return
    moment = clock.next_moment(now)
    cap = now + _recheck_every()
    at = min(moment, cap) if moment is not None else cap
    if row.next_check_at is not None and now < row.next_check_at <= at:
        return
    row.next_check_at = at
    case_id = case.pk
    transaction.on_commit(lambda: schedule_sla_check(case_id, at=at))


def sweep_open_cases(*, now: datetime | None = None, site_id: uuid.UUID | None = None) -> int:
    """Recheck every open case (catch-up after downtime, new or edited standards); with
    `site_id`, only that site's open cases."""
    count = 0
    cases = Case.objects.filter(status__in=OPEN_STATUSES)
    if site_id is not None:
        cases = cases.filter(site_id=site_id)
    ids = cases.values_list("pk", flat=True).iterator()
    for case_id in ids:
        if refresh_case_clock(case_id=case_id, now=now) is not None:
            count += 1
    return count


# --- editing standards, hours and holidays (supervisors and admins) --------------------------
def _require_manager(user: Any) -> None:
    require_staff(user)
    if not (user.is_admin_role or user.role == Role.SUPERVISOR):
        raise PermissionDenied("service standards are edited by supervisors and admins")


def _may_edit(user: Any, site: Site | None) -> None:
    """Admins edit central rows and every site; a supervisor only their own site's rows."""
    _require_manager(user)
    if user.is_admin_role:
        return
    if site is None:
        raise PermissionDenied("central standards are edited by admins")
    if site.pk != user.site_id:
        raise PermissionDenied("supervisors edit the standards of their own site")


def _minutes(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a whole number of minutes") from None
    if minutes <= 0:
        raise InvalidInput(f"{name} must be positive")
    return minutes


def require_editor(user: Any, site: Site | None) -> None:
    """Raise unless `user` may edit `site`'s rules (None = central): 404 for non-staff, 403
    for agents, for supervisors on central or another site."""
    _may_edit(user, site)


def require_manager(user: Any) -> None:
    """Raise unless `user` is a supervisor or an admin (who may edit some rules)."""
    _require_manager(user)


def may_edit(user: Any, site: Site | None) -> bool:
    """Whether `user` may edit the standards, hours and holidays of `site` (None = central)."""
    try:
        _may_edit(user, site)
    except (PermissionDenied, NotFound):
        return False
    return True


_EVERY_SITE = "every site"


def _recheck_after_commit(site: Site | None) -> None:
    """Standards, hours or holidays changed: recheck the clocks of the open cases they touch
    (the site's, or every open case for a central change) once the change is committed.

    Many changes in one transaction (the demo seeds dozens of holidays) queue one sweep per
    site, or a single one for every site when a central row changed: the first callback to run
    after the commit drains what the transaction collected, the others find nothing left."""
    connection = transaction.get_connection()
    pending: set[uuid.UUID | str] = connection.__dict__.setdefault("_sla_pending_sweeps", set())
    pending.add(site.pk if site is not None else _EVERY_SITE)

    def enqueue() -> None:
        sites = set(pending)
        pending.clear()
        if _EVERY_SITE in sites:
            schedule_sla_sweep(None)
            return
        for site_id in sites:
            schedule_sla_sweep(site_id)

    transaction.on_commit(enqueue)


@dataclass(frozen=True)
class StandardTerms:
    """What a standard promises, whatever its scope (site or central, department or any)."""

    priority: str
    name: str = ""
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_at_percent: int = 80
    reassign_on_breach: bool = False

    def checked(self) -> dict[str, Any]:
        """The model fields these terms set (priority aside), or InvalidInput saying why not."""
        if self.priority not in Priority.values:
            raise InvalidInput(f"priority must be one of: {', '.join(Priority.values)}")
        if not 1 <= int(self.warn_at_percent) <= 100:
            raise InvalidInput("warn_at_percent must be between 1 and 100")
        first = _minutes(self.first_response_minutes, "first_response_minutes")
        resolution = _minutes(self.resolution_minutes, "resolution_minutes")
        if first is not None and resolution is not None and resolution < first:
            raise InvalidInput("resolution_minutes must be at least first_response_minutes")
        return {
            "name": self.name.strip(),
            "first_response_minutes": first,
            "next_response_minutes": _minutes(self.next_response_minutes, "next_response_minutes"),
            "resolution_minutes": resolution,
            "warn_at_percent": int(self.warn_at_percent),
            "reassign_on_breach": bool(self.reassign_on_breach),
        }


def _duplicate(site: Site | None, priority: str, department: Department | None) -> Conflict:
    where = site.code if site is not None else "central"
    kind = department.name if department is not None else "any department"
    return Conflict(f"a {where} standard for {priority} priority and {kind} already exists")


@transaction.atomic
def save_standard(
    *, actor: Any, site: Site | None, terms: StandardTerms, department: Department | None = None
) -> ServiceStandard:
    """Create or replace the standard for (site|central, priority, department|any)."""
    _may_edit(actor, site)
    standard, _ = ServiceStandard.objects.update_or_create(
        site=site, priority=terms.priority, department=department, defaults=terms.checked()
    )
    _recheck_after_commit(site)
    return standard


@transaction.atomic
def add_standard(
    *, actor: Any, site: Site | None, terms: StandardTerms, department: Department | None = None
) -> ServiceStandard:
    """Add a new standard; Conflict when (site|central, priority, department|any) has one."""
    _may_edit(actor, site)
    values = terms.checked()
    try:
        with transaction.atomic():
            standard = ServiceStandard.objects.create(
                site=site, priority=terms.priority, department=department, **values
            )
    except IntegrityError:
        raise _duplicate(site, terms.priority, department) from None
    _recheck_after_commit(site)
    return standard


@transaction.atomic
def edit_standard(
    *,
    actor: Any,
    standard_id: uuid.UUID,
    site: Site | None,
    terms: StandardTerms,
    department: Department | None = None,
) -> ServiceStandard:
    """Change a standard in place (its scope too: the actor must be allowed both before and
    after); Conflict when another standard already has the new scope, priority and type."""
    standard = (
        ServiceStandard.objects.select_for_update(of=("self",))
        .select_related("site")
        .filter(pk=standard_id)
        .first()
    )
    if standard is None:
        raise NotFound(f"no service standard '{standard_id}'")
    before = standard.site
    _may_edit(actor, before)
    _may_edit(actor, site)
    values = terms.checked()
    standard.site = site
    standard.priority = terms.priority
    standard.department = department
    for field_name, value in values.items():
        setattr(standard, field_name, value)
    try:
        with transaction.atomic():
            standard.save(
                update_fields=["site", "priority", "department", *values.keys(), "updated_at"]
            )
    except IntegrityError:
        raise _duplicate(site, terms.priority, department) from None
    # moved between sites (or central involved): every open case may be touched
    _recheck_after_commit(site if before is not None and before == site else None)
    return standard


@transaction.atomic
def delete_standard(*, actor: Any, standard_id: uuid.UUID) -> None:
    standard = ServiceStandard.objects.select_related("site").filter(pk=standard_id).first()
    if standard is None:
        raise NotFound(f"no service standard '{standard_id}'")
    _may_edit(actor, standard.site)
    site = standard.site
    standard.delete()
    _recheck_after_commit(site)


@transaction.atomic
def set_business_hours(
    *, actor: Any, site: Site | None, spans: list[tuple[int, time, time]]
) -> list[BusinessHours]:
    """Replace the site's (or the central) opening spans in one transaction. An empty list
    removes the site's own hours (it falls back to the central ones; central: open 24/7).
    `(weekday, 00:00, 00:00)` is a whole day open; spans of one day must not overlap."""
    _may_edit(actor, site)
    for weekday, opens, closes in spans:
        if not 0 <= weekday <= 6:
            raise InvalidInput("weekday must be 0 (Monday) to 6 (Sunday)")
        if not (closes > opens or closes == time(0)):
            raise InvalidInput(f"closes must be after opens ({opens:%H:%M}-{closes:%H:%M})")
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in spans:
        by_day.setdefault(weekday, []).append((opens, closes))
    for day in by_day.values():
        day.sort()
        for (_, end), (start, _) in itertools.pairwise(day):
            if end == time(0) or start < end:
                raise InvalidInput("opening spans of one day must not overlap")
    BusinessHours.objects.filter(site=site).delete()
    rows = [
        BusinessHours.objects.create(site=site, weekday=w, opens=o, closes=c) for w, o, c in spans
    ]
    _recheck_after_commit(site)
    return rows


@transaction.atomic
def add_holiday(*, actor: Any, site: Site | None, day: date, name: str) -> Holiday:
    _may_edit(actor, site)
    if not name.strip():
        raise InvalidInput("name is required")
    try:
        with transaction.atomic():
            holiday = Holiday.objects.create(site=site, date=day, name=name.strip())
    except IntegrityError:
        raise Conflict(f"{day.isoformat()} is already a holiday here") from None
    _recheck_after_commit(site)
    return holiday


@transaction.atomic
def remove_holiday(*, actor: Any, holiday_id: uuid.UUID) -> None:
    holiday = Holiday.objects.select_related("site").filter(pk=holiday_id).first()
    if holiday is None:
        raise NotFound(f"no holiday '{holiday_id}'")
    _may_edit(actor, holiday.site)
    site = holiday.site
    holiday.delete()
    _recheck_after_commit(site)
