"""The case clock from its history: responses, next responses, pauses, resolution, events."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.cases.models import Case
from loxodon.customers.models import Customer
from loxodon.org.models import Site, User
from loxodon.sla.models import BusinessHours, CaseClock, Holiday, ServiceStandard
from loxodon.sla.selectors import calendar_for, standard_for
from loxodon.sla.services import refresh_case_clock
from loxodon.sla.tests.conftest import backdate, customer_writes, open_case, reply
from loxodon.timeline.models import Event


def kinds(case: Case, *names: str) -> list[str]:
    return list(
        Event.objects.filter(case=case, kind__in=names)
        .order_by("occurred_at", "id")
        .values_list("kind", flat=True)
    )


def test_first_response_warns_once_then_breaches_once(
    agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    case = open_case(jo, agent)
    opened = case.created_at
    clock = refresh_case_clock(case_id=case.pk, now=opened + timedelta(minutes=10))
    assert clock is not None and clock.state == "on_track"
    assert clock.first_response_due_at == opened + timedelta(minutes=60)
    assert clock.next_due_at == opened + timedelta(minutes=60)
    assert clock.next_warn_at == opened + timedelta(minutes=48)

    for minutes in (50, 55):  # twice: idempotent
        clock = refresh_case_clock(case_id=case.pk, now=opened + timedelta(minutes=minutes))
    assert clock is not None and clock.state == "at_risk"
    assert kinds(case, "sla_warning", "sla_breached") == ["sla_warning"]

    for minutes in (61, 90):
        clock = refresh_case_clock(case_id=case.pk, now=opened + timedelta(minutes=minutes))
    assert clock is not None and clock.state == "breached" and clock.ever_breached
    assert clock.breached_since == opened + timedelta(minutes=60)
    assert kinds(case, "sla_warning", "sla_breached", "sla_escalated") == [
        "sla_warning",
        "sla_breached",
        "sla_escalated",
    ]


def test_a_reply_meets_first_response_and_a_customer_message_starts_next_response(
    agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    case = open_case(jo, agent)
    opened = backdate(case, 300)
    reply(case, at=opened + timedelta(minutes=20))
    customer_writes(case, at=opened + timedelta(minutes=100))
    clock = refresh_case_clock(case_id=case.pk, now=opened + timedelta(minutes=110))
    assert clock is not None
    assert clock.first_response_met_at == opened + timedelta(minutes=20)
    assert clock.next_response_since == opened + timedelta(minutes=100)
    assert clock.next_response_due_at == opened + timedelta(minutes=220)
    assert clock.state == "on_track"
    # Answered late: breached (recorded once), but not escalated: the customer has an answer
    reply(case, at=opened + timedelta(minutes=230))
    clock = refresh_case_clock(case_id=case.pk, now=opened + timedelta(minutes=240))
    assert clock is not None and clock.next_response_met_at == opened + timedelta(minutes=230)
    assert kinds(case, "sla_breached", "sla_escalated") == ["sla_breached"]
    assert clock.ever_breached and clock.state == "on_track"  # resolution still running


def test_waiting_on_the_customer_pauses_every_due_time(
    agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    case = open_case(jo, agent)
    opened = case.created_at
    reply(case, at=opened)
    case_services.set_waiting(case=case, on="customer", actor=agent)
    paused_at = Event.objects.filter(case=case, kind="status_change").latest("occurred_at")
    now = paused_at.occurred_at + timedelta(hours=20)  # way past the 8 h resolution target
    clock = refresh_case_clock(case_id=case.pk, now=now)
    assert clock is not None and clock.state == "paused"
    assert clock.paused_since == paused_at.occurred_at
    assert clock.paused_minutes == 20 * 60
    assert clock.resolution_due_at is not None and clock.resolution_due_at > now
    assert kinds(case, "sla_breached") == []


def test_resolution_needs_the_customers_confirmation(
    agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    confirmed = open_case(jo, agent)
    reply(confirmed)
    case_services.propose_resolution(case=confirmed, summary="Fixed", actor=agent)
    case_services.confirm_resolution(case=confirmed, via="email", actor=agent)
    closed = open_case(jo, agent)
    reply(closed)
    case_services.close_unconfirmed(case=closed, reason="Gone quiet", actor=agent)
    later = timezone.now() + timedelta(days=3)
    ok = refresh_case_clock(case_id=confirmed.pk, now=later)
    not_ok = refresh_case_clock(case_id=closed.pk, now=later)
    assert ok is not None and ok.state == "met" and ok.resolution_met_at is not None
    assert not_ok is not None and not_ok.state == "not_met" and not_ok.resolution_met_at is None
    assert ok.next_check_at is None and not_ok.next_check_at is None


def test_site_override_business_hours_and_holidays_apply(
    agent: User, jo: Customer, standard: ServiceStandard, site: Site
) -> None:
    own = ServiceStandard.objects.create(site=site, priority="normal", first_response_minutes=30)
    ServiceStandard.objects.create(site=site, priority="high", first_response_minutes=5)
    case = open_case(jo, agent)
    assert standard_for(case) == own
    urgent = open_case(jo, agent, priority="urgent")
    assert standard_for(urgent) is None

    for weekday in range(5):
        BusinessHours.objects.create(weekday=weekday, opens=time(8), closes=time(18))
    Holiday.objects.create(date=timezone.localdate(), name="Today, closed everywhere")
    cal = calendar_for(site)
    assert cal.time_zone == "Europe/London" and timezone.localdate() in cal.holidays
    assert cal.hours[0] == ((8 * 60, 18 * 60),) and 6 not in cal.hours
    clock = refresh_case_clock(case_id=case.pk, now=case.created_at)
    assert clock is not None and clock.first_response_due_at is not None
    local = clock.first_response_due_at.astimezone(cal.zone)
    assert local.date() > timezone.localdate() and time(8) < local.time() <= time(18)


def test_no_standard_means_no_clock_state(agent: User, jo: Customer, db: None) -> None:
    case = open_case(jo, agent)
    clock = refresh_case_clock(case_id=case.pk, now=timezone.now())
    assert clock is not None and clock.state == "none" and clock.next_check_at is None
    assert CaseClock.objects.count() == 1
