"""SLA state on the desk: queue badges, sorting by due time, the case page's panel."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.core.testing import signed_in
from loxodon.customers.models import Customer
from loxodon.desk.tests.test_desk_pages import CASE_PAGE_QUERIES
from loxodon.org.models import User
from loxodon.sla.models import ServiceStandard
from loxodon.sla.services import refresh_case_clock
from loxodon.sla.templatetags.sla import badge, span
from loxodon.sla.tests.conftest import backdate, open_case, reply


def test_queue_shows_each_cases_state_and_sorts_by_due_time(
    agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    ServiceStandard.objects.create(priority="urgent", first_response_minutes=15)
    calm = open_case(jo, agent)
    reply(calm)
    urgent = open_case(jo, agent, priority="urgent")
    late = open_case(jo, agent)
    backdate(late, 90)
    for case in (calm, urgent, late):
        refresh_case_clock(case_id=case.pk)
    page = signed_in(agent).get("/desk/", {"sort": "due"}).content.decode()
    assert 'data-sla="breached"' in page and "breached 30 min ago" in page
    assert 'data-sla="on_track"' in page and "due in 1" in page  # urgent: 15 min
    # earliest due first: the breached one, then the urgent one, then the calm one
    assert page.index(str(late.pk)) < page.index(str(urgent.pk)) < page.index(str(calm.pk))


def test_case_page_shows_each_target_in_the_sites_time_zone_without_more_queries(
    agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    case = open_case(jo, agent)
    reply(case)
    refresh_case_clock(case_id=case.pk)
    desk = signed_in(agent)
    url = f"/desk/cases/{case.pk}/"
    desk.get(url)
    with CaptureQueriesContext(connection) as ctx:
        page = desk.get(url).content.decode()
    assert len(ctx.captured_queries) == CASE_PAGE_QUERIES
    assert "Service standard: Central normal" in page
    assert "First response" in page and "met " in page
    assert "Resolution (customer confirmed)" in page
    assert "GMT" in page or "BST" in page
    assert "Business time in Europe/London" in page


def test_badge_texts() -> None:
    from loxodon.sla.models import CaseClock

    now = timezone.now()
    clock = CaseClock(state="on_track", next_due_at=now + timedelta(minutes=35))
    assert badge(clock, now) is not None and badge(clock, now)["text"] == "due in 35 min"  # type: ignore[index]
    clock.next_warn_at = now - timedelta(minutes=1)
    assert badge(clock, now)["state"] == "at_risk"  # type: ignore[index]
    assert badge(clock, now + timedelta(hours=2))["text"] == "breached 1 h ago"  # type: ignore[index]
    assert badge(CaseClock(state="paused"), now)["text"] == "paused"  # type: ignore[index]
    assert badge(CaseClock(state="none"), now) is None
    assert span(timedelta(days=3)) == "3 d"


def test_standards_page_shows_central_against_site_overrides(
    agent: User, supervisor: User, standard: ServiceStandard, site: object
) -> None:
    from datetime import date, time

    from loxodon.sla.models import BusinessHours, Holiday

    ServiceStandard.objects.create(site=site, priority="normal", first_response_minutes=30)  # type: ignore[misc]
    BusinessHours.objects.create(weekday=0, opens=time(8), closes=time(18))
    Holiday.objects.create(date=date(2026, 12, 25), name="Christmas Day")
    assert signed_in(agent).get("/desk/sla/").status_code == 403
    page = signed_in(supervisor).get("/desk/sla/").content.decode()
    assert "In effect at lon" in page and "site override" in page and "(central 60)" in page
    assert "Mon 08:00-18:00" in page and "Christmas Day" in page
