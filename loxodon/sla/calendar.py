"""Business-time arithmetic: pure functions, no database (ADR 10).

A `BusinessCalendar` is a site's opening spans per weekday (local wall time in the site's IANA
time zone), its closed dates (holidays) and nothing else. Business time is *real elapsed time*
inside open spans: each span is turned into two aware instants with zoneinfo, so a 24-hour
opening on a day the clocks go forward is 23 real hours, and an opening time that does not exist
that day (inside the spring gap) means the instant the clocks jump past it.

Pauses (the case waiting on the customer) are closed intervals of real time subtracted from the
open spans: a target's due time moves by exactly the business time the pauses covered.

All arithmetic uses `timedelta` (microseconds, exact): `business_time_between(a,
add_business_time(a, d)) == d` holds exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
MAX_DAYS = 3 * 366  # an SLA further out than this is a configuration mistake

Span = tuple[
    int, int
]  # (opens, closes) in minutes since local midnight, 0 <= opens < closes <= 1440
Pause = tuple[datetime, datetime | None]  # [start, end); None = still paused


def _aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening spans per weekday (0 = Monday) in `time_zone`, and closed local dates."""

    time_zone: str
    hours: dict[int, tuple[Span, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def always_open(
        cls, time_zone: str = "UTC", holidays: frozenset[date] = frozenset()
    ) -> BusinessCalendar:
        return cls(time_zone, {d: ((0, MINUTES_PER_DAY),) for d in range(7)}, holidays)

    @classmethod
    def from_times(
        cls,
        time_zone: str,
        rows: Sequence[tuple[int, time, time]],
        holidays: frozenset[date] = frozenset(),
    ) -> BusinessCalendar:
        """From (weekday, opens, closes) rows; `closes` 00:00 means midnight at the day's end.
        No rows at all means open 24/7."""
        if not rows:
            return cls.always_open(time_zone, holidays)
        hours: dict[int, list[Span]] = {}
        for weekday, opens, closes in rows:
            start = opens.hour * 60 + opens.minute
            end = closes.hour * 60 + closes.minute or MINUTES_PER_DAY
            if not 0 <= weekday <= 6 or end <= start:
                raise ValueError(f"bad opening span {weekday} {opens}-{closes}")
            hours.setdefault(weekday, []).append((start, end))
        merged: dict[int, tuple[Span, ...]] = {}
        for weekday, spans in hours.items():
            out: list[Span] = []
            for s, e in sorted(spans):
                if out and s <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], e))
                else:
                    out.append((s, e))
            merged[weekday] = tuple(out)
        return cls(time_zone, merged, holidays)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def ever_open(self) -> bool:
        return any(self.hours.values())

    # --- open spans as real instants ---------------------------------------------------------
    def _instant(self, day: date, minute: int) -> datetime:
        if minute >= MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        # fold=0: an ambiguous time (autumn) is its first occurrence; a missing one (spring gap)
        # maps past the gap. Round-trip through UTC to normalise.
        return local.astimezone(UTC)

    def open_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals [a, b) in UTC, in order, from the local day containing `start`
        (spans ending at or before `start` included: callers clip)."""
        _aware(start, "start")
        if not self.ever_open:
            return
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(MAX_DAYS + 2):
            if day not in self.holidays:
                for opens, closes in self.hours.get(day.weekday(), ()):
                    a, b = self._instant(day, opens), self._instant(day, closes)
                    if b > a:
                        yield a, b
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        for a, b in self.open_spans(at):
            if a > at:
                return False
            if a <= at < b:
                return True
        return False


def _active_spans(
    calendar: BusinessCalendar, start: datetime, pauses: Sequence[Pause], until: datetime | None
) -> Iterator[tuple[datetime, datetime]]:
    """Open spans from `start` with the pauses cut out (`until` closes an open pause)."""
    cuts = sorted(
        (p0.astimezone(UTC), (p1 or until or datetime.max.replace(tzinfo=UTC)).astimezone(UTC))
        for p0, p1 in pauses
    )
    for a, b in calendar.open_spans(start):
        if b <= start:
            continue
        a = max(a, start)
        for p0, p1 in cuts:
            if p1 <= a or p0 >= b:
                continue
            if p0 > a:
                yield a, p0
            a = max(a, p1)
            if a >= b:
                break
        if a < b:
            yield a, b


def add_business_time(
    calendar: BusinessCalendar,
    start: datetime,
    duration: timedelta,
    pauses: Sequence[Pause] = (),
    *,
    pause_open_until: datetime | None = None,
) -> datetime:
    """The instant when `duration` of business time (outside pauses) has elapsed from `start`.

    A zero duration gives `start` if it is open, else the next opening. A positive one may land
    exactly on a closing instant (due at 18:00), never inside closed time. An open pause (end
    None) is treated as ending at `pause_open_until` (e.g. now: "due if the customer answered
    now"); without it, as never ending, which raises ValueError.
    """
    _aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    start = start.astimezone(UTC)
    remaining = duration
    for a, b in _active_spans(calendar, start, pauses, pause_open_until):
        if remaining <= b - a:
            return a + remaining
        remaining -= b - a
    raise ValueError("no business time left within the horizon (no opening hours, or paused)")


def business_time_between(
    calendar: BusinessCalendar,
    start: datetime,
    end: datetime,
    pauses: Sequence[Pause] = (),
) -> timedelta:
    """Business time (outside pauses) in [start, end); zero when end <= start."""
    _aware(start, "start")
    _aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for a, b in _active_spans(calendar, start, pauses, end):
        if a >= end:
            break
        total += min(b, end) - a
    return total
