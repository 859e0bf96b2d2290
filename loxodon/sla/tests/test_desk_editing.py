"""Editing service standards, business hours and holidays on /desk/sla/ through HTTP, like a
supervisor or an admin would: who may edit what, clear errors that write nothing, hours saved
in one transaction, and the clocks of open cases rechecked after a change."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from loxodon.core.testing import signed_in
from loxodon.customers.models import Customer
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_staff
from loxodon.sla import tasks
from loxodon.sla.models import BusinessHours, CaseClock, Holiday, ServiceStandard
from loxodon.sla.services import refresh_case_clock
from loxodon.sla.tests.conftest import backdate, open_case

NEW = "/desk/sla/standards/new/"
HOURS = "/desk/sla/hours/"
HOLIDAYS = "/desk/sla/holidays/"
SWEEP = "loxodon.sla.tasks.recheck_open_cases"


def edit_url(s: ServiceStandard) -> str:
    return f"/desk/sla/standards/{s.pk}/edit/"


def delete_url(s: ServiceStandard) -> str:
    return f"/desk/sla/standards/{s.pk}/delete/"


def standard_form(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scope": "central",
        "priority": "normal",
        "department": "",
        "name": "Normal",
        "first_response_minutes": "60",
        "next_response_minutes": "120",
        "resolution_minutes": "480",
        "warn_at_percent": "80",
    }
    body.update(fields)
    return body


def week(**days: tuple[str, str] | None) -> dict[str, str]:
    """A weekly hours form: Mon-Fri 09:00-17:00, weekend closed; override by day index `d0`."""
    body = {"mode": "weekly"}
    for day in range(7):
        span = days.get(f"d{day}", ("09:00", "17:00") if day < 5 else None)
        if span is None:
            body[f"closed_{day}"] = "on"
        else:
            body[f"opens_{day}"], body[f"closes_{day}"] = span
    return body


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def admin(site: Site, departments: dict[str, Department]) -> User:
    return create_staff(username="ada", first_name="Ada", last_name="Admin", role="admin")


@pytest.fixture
def admin_desk(admin: User) -> Client:
    return signed_in(admin)


@pytest.fixture
def sue_desk(supervisor: User) -> Client:
    return signed_in(supervisor)


def test_admin_adds_edits_and_deletes_a_central_standard_and_a_site_override(
    admin_desk: Client, site: Site, departments: dict[str, Department]
) -> None:
    # Given an admin on the standards page, with an Add button
    page = admin_desk.get("/desk/sla/").content.decode()
    assert 'href="/desk/sla/standards/new/' in page

    # When they add a central standard and a London override for warranty cases
    added = admin_desk.post(NEW, standard_form(), follow=True)
    override = admin_desk.post(
        NEW,
        standard_form(
            scope="lon",
            department=str(departments["warranty"].pk),
            name="London warranty",
            first_response_minutes="30",
        ),
        follow=True,
    )

    # Then both exist, and the page shows them with hours next to minutes
    central = ServiceStandard.objects.get(site__isnull=True)
    local = ServiceStandard.objects.get(site=site)
    assert (central.priority, central.resolution_minutes, central.department) == (
        "normal",
        480,
        None,
    )
    assert local.department == departments["warranty"] and local.first_response_minutes == 30
    assert any("Standard “Normal” added." in m for m in messages_of(added))
    assert "480 min (8 h)" in override.content.decode()

    # When they edit each one
    admin_desk.post(
        edit_url(central), standard_form(resolution_minutes="600", warn_at_percent="90")
    )
    admin_desk.post(
        edit_url(local),
        standard_form(
            scope="lon", department=str(departments["warranty"].pk), reassign_on_breach="on"
        ),
    )
    central.refresh_from_db()
    local.refresh_from_db()
    assert (central.resolution_minutes, central.warn_at_percent) == (600, 90)
    assert local.reassign_on_breach and local.first_response_minutes == 60
    assert ServiceStandard.objects.count() == 2  # edited in place, not added

    # When they delete: first a confirmation page (nothing deleted), then the POST
    confirm = admin_desk.get(delete_url(local))
    assert confirm.status_code == 200 and "Delete the standard" in confirm.content.decode()
    assert ServiceStandard.objects.filter(pk=local.pk).exists()
    for s in (local, central):
        response = admin_desk.post(delete_url(s), follow=True)
        assert response.status_code == 200 and any("deleted" in m for m in messages_of(response))
    assert not ServiceStandard.objects.exists()


def test_supervisor_edits_their_sites_override_but_not_central_or_other_sites(
    sue_desk: Client, site: Site, other_site: Site
) -> None:
    central = ServiceStandard.objects.create(priority="normal", first_response_minutes=60)
    own = ServiceStandard.objects.create(site=site, priority="normal", first_response_minutes=30)
    other = ServiceStandard.objects.create(
        site=other_site, priority="normal", first_response_minutes=45
    )

    # their own site: edit and add
    response = sue_desk.post(edit_url(own), standard_form(scope="lon", first_response_minutes="20"))
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.first_response_minutes == 20
    assert sue_desk.post(NEW, standard_form(scope="lon", priority="high")).status_code == 302
    assert ServiceStandard.objects.filter(site=site, priority="high").exists()

    # central and another site: read-only on the page, 403 on every edit
    page = sue_desk.get("/desk/sla/", {"site": "lon"}).content.decode()
    assert edit_url(own) in page and edit_url(central) not in page
    for standard in (central, other):
        assert sue_desk.get(edit_url(standard)).status_code == 403
        assert sue_desk.post(edit_url(standard), standard_form()).status_code == 403
        assert sue_desk.post(delete_url(standard)).status_code == 403
    assert sue_desk.post(NEW, standard_form(priority="low")).status_code == 403
    assert sue_desk.post(NEW, standard_form(scope="man", priority="low")).status_code == 403
    # nor move their own override to another site
    assert sue_desk.post(edit_url(own), standard_form(scope="man")).status_code == 403
    assert sue_desk.post(HOURS + "?site=central", week()).status_code == 403
    assert sue_desk.post(HOURS + "?site=man", week()).status_code == 403
    central.refresh_from_db()
    other.refresh_from_db()
    own.refresh_from_db()
    assert (central.first_response_minutes, other.first_response_minutes) == (60, 45)
    assert own.site == site
    assert not ServiceStandard.objects.filter(priority="low").exists()
    assert not BusinessHours.objects.exists()


def test_an_agent_cannot_edit_anything(desk: Client, site: Site) -> None:
    standard = ServiceStandard.objects.create(site=site, priority="normal", resolution_minutes=60)
    assert desk.get(NEW).status_code == 403
    assert desk.post(NEW, standard_form(scope="lon", priority="high")).status_code == 403
    assert desk.post(edit_url(standard), standard_form(scope="lon")).status_code == 403
    assert desk.post(delete_url(standard)).status_code == 403
    assert desk.post(HOURS + "?site=lon", week()).status_code == 403
    holiday = {"scope": "lon", "date": "2026-12-25", "name": "Christmas Day"}
    assert desk.post(HOLIDAYS, holiday).status_code == 403
    assert list(ServiceStandard.objects.values_list("pk", flat=True)) == [standard.pk]
    assert not BusinessHours.objects.exists() and not Holiday.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"first_response_minutes": "120", "resolution_minutes": "60"},
            "Resolution must be at least the first response.",
        ),
        ({"next_response_minutes": "-5"}, "greater than or equal to 1"),
        ({"warn_at_percent": "150"}, "less than or equal to 100"),
        ({"priority": "whenever"}, "Select a valid choice"),
        (
            {"first_response_minutes": "", "next_response_minutes": "", "resolution_minutes": ""},
            "Set at least one target.",
        ),
    ],
)
def test_invalid_input_shows_the_error_and_writes_nothing(
    admin_desk: Client, fields: dict[str, str], error: str
) -> None:
    response = admin_desk.post(NEW, standard_form(**fields))
    page = response.content.decode()
    assert response.status_code == 200
    assert error in page
    if "at least one" not in error:  # a field's error: the field says so to screen readers
        assert 'aria-invalid="true"' in page
    assert "Not saved: please correct the errors below." in page
    assert not ServiceStandard.objects.exists()


def test_a_duplicate_scope_priority_and_case_type_is_a_message_not_a_500(
    admin_desk: Client, site: Site
) -> None:
    ServiceStandard.objects.create(site=site, priority="normal", first_response_minutes=30)
    twin = ServiceStandard.objects.create(site=site, priority="high", first_response_minutes=10)

    added = admin_desk.post(NEW, standard_form(scope="lon"))
    moved = admin_desk.post(edit_url(twin), standard_form(scope="lon"))  # high -> normal

    for response in (added, moved):
        assert response.status_code == 200
        assert "A lon standard for normal priority and any department already exists" in (
            response.content.decode()
        )
    twin.refresh_from_db()
    assert twin.priority == "high" and ServiceStandard.objects.count() == 2


def test_saved_hours_replace_the_old_ones(admin_desk: Client, site: Site) -> None:
    BusinessHours.objects.create(site=site, weekday=0, opens=time(7), closes=time(12))
    BusinessHours.objects.create(site=site, weekday=0, opens=time(13), closes=time(19))
    BusinessHours.objects.create(site=site, weekday=6, opens=time(10), closes=time(14))

    response = admin_desk.post(HOURS + "?site=lon", week(d5=("10:00", "00:00")), follow=True)

    assert any("London business hours saved." in m for m in messages_of(response))
    rows = list(
        BusinessHours.objects.filter(site=site)
        .order_by("weekday")
        .values_list("weekday", "opens", "closes")
    )
    assert rows == [(d, time(9), time(17)) for d in range(5)] + [(5, time(10), time(0))]
    # London shows its own hours; the central view does not mistake them for central ones
    assert "Sat 10:00-00:00" in admin_desk.get("/desk/sla/", {"site": "lon"}).content.decode()
    central_page = admin_desk.get("/desk/sla/", {"site": ""}).content.decode()
    assert "Sat 10:00-00:00" not in central_page and "Open 24/7 (no hours set)" in central_page

    # 24/7 is a whole day every day; "use the central hours" removes the site's own rows
    admin_desk.post(HOURS + "?site=lon", {"mode": "always"})
    assert set(BusinessHours.objects.values_list("weekday", "opens", "closes")) == {
        (d, time(0), time(0)) for d in range(7)
    }
    admin_desk.post(HOURS + "?site=lon", {"mode": "inherit"})
    assert not BusinessHours.objects.filter(site=site).exists()


def test_invalid_hours_keep_the_old_ones(admin_desk: Client, site: Site) -> None:
    BusinessHours.objects.create(site=site, weekday=0, opens=time(7), closes=time(12))

    wrong = admin_desk.post(HOURS + "?site=lon", week(d2=("17:00", "09:00")))
    empty = admin_desk.post(HOURS + "?site=lon", week(d3=("", "")))
    shut = admin_desk.post(
        HOURS + "?site=lon", {"mode": "weekly", **{f"closed_{d}": "on" for d in range(7)}}
    )

    assert "Wednesday: closing must be after opening" in wrong.content.decode()
    assert "Thursday: set opening and closing times, or tick closed." in empty.content.decode()
    assert "Every day is closed" in shut.content.decode()
    rows = list(BusinessHours.objects.values_list("site", "weekday", "opens", "closes"))
    assert rows == [(site.pk, 0, time(7), time(12))]


def test_hours_are_saved_in_one_transaction(
    admin_desk: Client, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    BusinessHours.objects.create(site=site, weekday=0, opens=time(7), closes=time(12))
    real_create = BusinessHours.objects.create
    made: list[BusinessHours] = []

    def failing_create(**kw: Any) -> BusinessHours:  # the database fails after three rows
        if len(made) == 3:
            raise RuntimeError("database went away")
        made.append(real_create(**kw))
        return made[-1]

    monkeypatch.setattr(BusinessHours.objects, "create", failing_create)
    with pytest.raises(RuntimeError):
        admin_desk.post(HOURS + "?site=lon", week())

    rows = list(BusinessHours.objects.values_list("weekday", "opens", "closes"))
    assert rows == [(0, time(7), time(12))]  # the old row is back, none of the new ones


def test_holidays_are_added_and_removed(
    admin_desk: Client, sue_desk: Client, site: Site, other_site: Site
) -> None:
    added = admin_desk.post(
        HOLIDAYS, {"scope": "central", "date": "2026-12-25", "name": "Christmas Day"}, follow=True
    )
    sue_desk.post(HOLIDAYS, {"scope": "lon", "date": "2026-12-26", "name": "Boxing Day"})
    again = admin_desk.post(
        HOLIDAYS, {"scope": "central", "date": "2026-12-25", "name": "Xmas"}, follow=True
    )
    not_hers = sue_desk.post(HOLIDAYS, {"scope": "man", "date": "2026-12-27", "name": "Other"})
    no_date = admin_desk.post(HOLIDAYS, {"scope": "lon", "name": "Someday"}, follow=True)

    assert any("“Christmas Day” added" in m for m in messages_of(added))
    assert any("already a holiday here" in m for m in messages_of(again))
    assert not_hers.status_code == 403
    missing = "Holiday not added. Date: This field is required."
    assert any(missing in m for m in messages_of(no_date))
    assert set(Holiday.objects.values_list("site", "date", "name")) == {
        (None, date(2026, 12, 25), "Christmas Day"),
        (site.pk, date(2026, 12, 26), "Boxing Day"),
    }

    christmas = Holiday.objects.get(site__isnull=True)
    boxing = Holiday.objects.get(site=site)
    assert sue_desk.post(f"/desk/sla/holidays/{christmas.pk}/remove/").status_code == 403
    removed = sue_desk.post(f"/desk/sla/holidays/{boxing.pk}/remove/", follow=True)
    assert any("“Boxing Day” removed" in m for m in messages_of(removed))
    assert list(Holiday.objects.values_list("name", flat=True)) == ["Christmas Day"]


def test_a_change_rechecks_the_clocks_of_open_cases(
    admin_desk: Client,
    agent: User,
    jo: Customer,
    site: Site,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given an open London case, 90 minutes old, on track against a 2-hour first response
    standard = ServiceStandard.objects.create(priority="normal", first_response_minutes=120)
    case = open_case(jo, agent)
    backdate(case, 90)
    refresh_case_clock(case_id=case.pk)
    assert CaseClock.objects.get(case=case).state == "on_track"
    DBTaskResult.objects.all().delete()

    # When the admin tightens the central standard to one hour
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(
            edit_url(standard), standard_form(first_response_minutes="60"), follow=True
        )

    # Then the page says so, and one recheck of every open case is queued...
    assert any("Rechecking the clocks of 1 open case now." in m for m in messages_of(response))
    jobs = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
    assert jobs == [(SWEEP, {"args": [None], "kwargs": {}})]
    # ...which recomputes the case's clock against the new target
    assert tasks.recheck_open_cases.call(None) == 1
    clock = CaseClock.objects.get(case=case)
    assert clock.state == "breached" and clock.first_response_breached_at is not None


def test_a_site_change_rechecks_only_that_sites_cases(
    admin_desk: Client, site: Site, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(
            HOLIDAYS, {"scope": "lon", "date": "2026-12-28", "name": "Bank holiday"}, follow=True
        )
    assert any("No open cases to recheck." in m for m in messages_of(response))
    jobs = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
    assert jobs == [(SWEEP, {"args": [str(site.pk)], "kwargs": {}})]


def test_many_changes_in_one_transaction_queue_one_sweep(
    admin: User, site: Site, other_site: Site, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    from loxodon.sla import services

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for day in (1, 2, 3):
            services.add_holiday(actor=admin, site=site, day=date(2027, 1, day), name="Off")
        services.add_holiday(actor=admin, site=other_site, day=date(2027, 1, 4), name="Off")
    site_jobs = sorted(
        r["args"][0] for r in DBTaskResult.objects.values_list("args_kwargs", flat=True)
    )
    assert site_jobs == sorted([str(site.pk), str(other_site.pk)])

    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.add_holiday(actor=admin, site=site, day=date(2027, 2, 1), name="Off")
        services.add_holiday(actor=admin, site=None, day=date(2027, 2, 2), name="Off")
    assert list(DBTaskResult.objects.values_list("args_kwargs", flat=True)) == [
        {"args": [None], "kwargs": {}}
    ]
