"""Business-time arithmetic across time zones, DST changes, holidays and pauses (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loxodon.sla.calendar import BusinessCalendar, add_business_time, business_time_between

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
UK_HOLIDAYS = frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})


def office(zone: str, holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    """Mon-Fri 08:00-18:00, Saturday 09:00-12:00."""
    rows = [(d, time(8), time(18)) for d in range(5)] + [(5, time(9), time(12))]
    return BusinessCalendar.from_times(zone, rows, holidays)


calendars = st.builds(
    lambda zone, kind, hol: (
        office(zone, UK_HOLIDAYS if hol else frozenset())
        if kind == "office"
        else BusinessCalendar.always_open(zone, UK_HOLIDAYS if hol else frozenset())
        if kind == "24/7"
        else BusinessCalendar.from_times(
            zone, [(d, time(0), time(0)) for d in range(5)] + [(6, time(22), time(0))]
        )
    ),
    st.sampled_from(ZONES),
    st.sampled_from(["office", "24/7", "nights"]),
    st.booleans(),
)
# Instants around the 2026 DST changes (Mar/Apr, Oct/Nov) and the UK holidays at year end
instants = st.datetimes(
    min_value=datetime(2026, 3, 1),  # noqa: DTZ001 (hypothesis bounds are naive; tz below)
    max_value=datetime(2027, 1, 10),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(calendars, instants, durations)
def test_adding_then_measuring_round_trips(
    cal: BusinessCalendar, start: datetime, d: timedelta
) -> None:
    due = add_business_time(cal, start, d)
    assert due >= start
    assert business_time_between(cal, start, due) == d


@settings(max_examples=300, deadline=None)
@given(calendars, instants, durations, durations)
def test_adding_is_monotonic_and_additive(
    cal: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    small, large = sorted((a, b))
    assert add_business_time(cal, start, small) <= add_business_time(cal, start, large)
    # adding a then b is adding a + b (when a ends inside open time; at a closing boundary the
    # next span starts later, but the business time between is the same)
    step = add_business_time(cal, add_business_time(cal, start, a), b)
    assert business_time_between(cal, start, step) == a + b


@settings(max_examples=300, deadline=None)
@given(calendars, instants, durations.filter(lambda d: d > timedelta(0)))
def test_never_lands_in_closed_time(cal: BusinessCalendar, start: datetime, d: timedelta) -> None:
    due = add_business_time(cal, start, d)
    # open just before the due instant (it may be a closing instant itself)
    assert cal.is_open(due - timedelta(microseconds=1))
    local = due.astimezone(cal.zone)
    assert local.date() not in cal.holidays or local.time() == time(0)


@settings(max_examples=300, deadline=None)
@given(
    calendars,
    instants,
    durations,
    st.integers(min_value=-60 * 24 * 5, max_value=60 * 24 * 10),
    st.integers(min_value=0, max_value=60 * 24 * 5),
)
def test_a_pause_extends_by_exactly_the_business_time_it_covered(
    cal: BusinessCalendar, start: datetime, d: timedelta, offset: int, length: int
) -> None:
    p0 = start + timedelta(minutes=offset)
    p1 = p0 + timedelta(minutes=length)
    plain = add_business_time(cal, start, d)
    paused = add_business_time(cal, start, d, [(p0, p1)])
    covered = business_time_between(cal, max(start, p0), min(p1, paused))
    assert paused >= plain
    assert business_time_between(cal, start, paused) == d + covered
    assert business_time_between(cal, start, paused, [(p0, p1)]) == d


def test_office_hours_skip_the_night_and_the_weekend() -> None:
    cal = office("Europe/London")
    friday_5pm = datetime(2026, 11, 20, 17, 0, tzinfo=cal.zone)
    due = add_business_time(cal, friday_5pm, timedelta(hours=3))
    # 1 h on Friday, then Saturday 09:00-11:00
    assert due.astimezone(cal.zone) == datetime(2026, 11, 21, 11, 0, tzinfo=cal.zone)
    monday = add_business_time(cal, friday_5pm, timedelta(hours=6))
    assert monday.astimezone(cal.zone) == datetime(2026, 11, 23, 10, 0, tzinfo=cal.zone)


def test_holidays_are_skipped_in_the_sites_calendar() -> None:
    cal = office("Europe/London", UK_HOLIDAYS)
    christmas_eve = datetime(2026, 12, 24, 17, 0, tzinfo=cal.zone)  # Thursday
    due = add_business_time(cal, christmas_eve, timedelta(hours=2))
    # Christmas Friday closed, Saturday 26th open 09-12, Monday 28th a bank holiday
    assert due.astimezone(cal.zone) == datetime(2026, 12, 26, 10, 0, tzinfo=cal.zone)
    due = add_business_time(cal, christmas_eve, timedelta(hours=5))
    assert due.astimezone(cal.zone) == datetime(2026, 12, 29, 9, 0, tzinfo=cal.zone)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/London", date(2026, 3, 29), 23),  # clocks go forward
        ("Europe/London", date(2026, 10, 25), 25),  # clocks go back
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Europe/London", date(2026, 6, 1), 24),
    ],
)
def test_a_24_hour_day_is_real_time_on_dst_days(zone: str, day: date, hours: int) -> None:
    cal = BusinessCalendar.always_open(zone)
    midnight = datetime.combine(day, time(0), tzinfo=cal.zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=cal.zone)
    assert business_time_between(cal, midnight, next_midnight) == timedelta(hours=hours)


def test_office_day_keeps_its_local_hours_across_dst() -> None:
    cal = office("America/New_York")
    # Friday 6 Mar 2026 17:00 EST + 5 h: 1 h Friday, 3 h Saturday (EST), Sunday closed (the
    # clocks change), 1 h Monday from 08:00 EDT: 09:00 local, not 09:00 EST
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=cal.zone)
    due = add_business_time(cal, friday, timedelta(hours=5))
    assert due.astimezone(cal.zone).timetuple()[:5] == (2026, 3, 9, 9, 0)
    assert due.astimezone(cal.zone).utcoffset() == timedelta(hours=-4)


def test_naive_datetimes_and_closed_calendars_are_refused() -> None:
    cal = office("Europe/London")
    with pytest.raises(ValueError, match="aware"):
        add_business_time(cal, datetime(2026, 1, 1), timedelta(minutes=1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="no business time"):
        add_business_time(BusinessCalendar("UTC"), datetime(2026, 1, 1, tzinfo=UTC), timedelta(1))
