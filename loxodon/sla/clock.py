"""The case's clock, derived from its history: a pure function, recomputable at any time.

`compute_clock(case, events, calendar, standard, now)` reads only its arguments. What counts
(ADR 10):

- **Start**: the case's opening (`created_at`).
- **A response to the customer** (at the event's `occurred_at`, or the opening if earlier):
  a `message` event with payload `direction` "outbound"; a `call` on the case (a conversation
  answers at once); a `chat` on the case that an agent joined (payload `agent` set); a `visit`.
- **A customer message** (starts a *next response* target when it follows our last response):
  a `message` event not marked outbound; a `chat` on the case no agent has joined yet.
  The customer's confirmation ends the case instead.
- **Pauses**: while the case is `waiting_on_customer` or `resolution_proposed` (we wait for the
  customer to answer or confirm), and between finishing and reopening. Pauses move every due
  time by the business time they covered (`sla.calendar`).
- **Resolution** is met only by `resolved_confirmed`; `closed_unconfirmed` is *not met*.
- **Warnings and breaches already recorded** are read back from the `sla_warning` /
  `sla_breached` events in `events` (payload `target`, `since`), so each is raised once per
  target (and per customer message for next response), whoever recomputes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from loxodon.sla.calendar import BusinessCalendar, Pause, add_business_time, business_time_between

PAUSING_STATUSES = frozenset({"waiting_on_customer", "resolution_proposed"})
FINISHED_STATUSES = frozenset({"resolved_confirmed", "closed_unconfirmed"})


class CaseLike(Protocol):
    @property
    def created_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...


class EventLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def payload(self) -> Any: ...


class StandardLike(Protocol):
    @property
    def warn_at_percent(self) -> int: ...
    def target(self, name: str) -> timedelta | None: ...


@dataclass(frozen=True)
class TargetClock:
    """One target's state. `since` identifies it (the opening, or the customer message that a
    next response answers); `state` is one of ClockState's values."""

    target: str
    since: datetime
    due_at: datetime | None
    warn_at: datetime | None
    met_at: datetime | None
    state: str
    breached_at: datetime | None = None  # = due_at when missed (or the unconfirmed close)

    @property
    def key(self) -> str:
        return f"{self.target}@{self.since.isoformat()}"


@dataclass(frozen=True)
class Clock:
    targets: dict[str, TargetClock]  # the current one per target name
    history: list[TargetClock]  # every target instance (all next-response cycles)
    state: str
    paused_since: datetime | None
    paused: timedelta
    next_due_at: datetime | None
    next_warn_at: datetime | None
    breached_since: datetime | None
    warnings_due: list[TargetClock] = field(default_factory=list)  # not yet recorded
    breaches_due: list[TargetClock] = field(default_factory=list)  # not yet recorded

    @property
    def ever_breached(self) -> bool:
        return any(t.state in ("breached", "not_met") for t in self.history)

    def next_moment(self, now: datetime) -> datetime | None:
        """When something will next change on its own (a warning or a breach)."""
        moments = [
            m
            for t in self.targets.values()
            if t.state in ("on_track", "at_risk")
            for m in (t.warn_at, t.due_at)
            if m is not None and m > now
        ]
        return min(moments, default=None)


def is_response(event: EventLike) -> bool:
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.kind == "message":
        return payload.get("direction") in ("outbound", "out")
    if event.kind == "chat":
        return bool(payload.get("agent"))
    return event.kind in ("call", "visit")


def is_customer_message(event: EventLike) -> bool:
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.kind == "message":
        return payload.get("direction") not in ("outbound", "out")
    if event.kind == "chat":
        return not payload.get("agent")
    return False


def status_intervals(case: CaseLike, events: Iterable[EventLike], now: datetime) -> list[Pause]:
    """Intervals in which the clock does not run, from the case's status changes."""
    pauses: list[Pause] = []
    status = "new"
    since: datetime | None = None
    changes = [e for e in events if e.kind == "status_change" and isinstance(e.payload, dict)]
    for event in sorted(changes, key=lambda e: e.occurred_at):
        new = event.payload.get("to")
        if not isinstance(new, str):
            continue  # "Owner: …" rows carry no status
        stopped = status in PAUSING_STATUSES or status in FINISHED_STATUSES
        stops = new in PAUSING_STATUSES or new in FINISHED_STATUSES
        if stops and not stopped:
            since = event.occurred_at
        elif stopped and not stops and since is not None:
            pauses.append((since, event.occurred_at))
            since = None
        status = new
    if since is not None:
        pauses.append((since, None))
    return pauses


def _target(
    name: str,
    since: datetime,
    length: timedelta,
    warn_percent: int,
    met_at: datetime | None,
    calendar: BusinessCalendar,
    pauses: Sequence[Pause],
    now: datetime,
    *,
    finished_unmet_at: datetime | None = None,
    paused_now: bool = False,
) -> TargetClock:
    due = add_business_time(calendar, since, length, pauses, pause_open_until=now)
    warn_length = timedelta(microseconds=length // timedelta(microseconds=1) * warn_percent // 100)
    warn = add_business_time(calendar, since, warn_length, pauses, pause_open_until=now)
    if met_at is not None:
        state = "met" if met_at <= due else "breached"
        return TargetClock(name, since, due, warn, met_at, state, due if state != "met" else None)
    if finished_unmet_at is not None:
        return TargetClock(name, since, due, warn, None, "not_met", min(due, finished_unmet_at))
    if due <= now:
        return TargetClock(name, since, due, warn, None, "breached", due)
    if paused_now:
        return TargetClock(name, since, due, warn, None, "paused")
    return TargetClock(name, since, due, warn, None, "at_risk" if warn <= now else "on_track")


def _finished_at(events: Sequence[EventLike]) -> datetime | None:
    """When the case last reached a finished status (events in time order)."""
    at = None
    for e in events:
        payload = e.payload if isinstance(e.payload, dict) else {}
        if e.kind == "status_change" and payload.get("to") in FINISHED_STATUSES:
            at = e.occurred_at
    return at


def _recorded(events: Iterable[EventLike], kind: str) -> set[str]:
    keys = set()
    for e in events:
        if e.kind == kind and isinstance(e.payload, dict):
            keys.add(f"{e.payload.get('target')}@{e.payload.get('since')}")
    return keys


def compute_clock(
    case: CaseLike,
    events: Sequence[EventLike],
    calendar: BusinessCalendar,
    standard: StandardLike | None,
    now: datetime,
) -> Clock:
    """The clock of `case` at `now`, from its events (any order), calendar and standard."""
    opened = case.created_at
    ordered = sorted(events, key=lambda e: e.occurred_at)
    pauses = status_intervals(case, ordered, now)
    paused_since = pauses[-1][0] if pauses and pauses[-1][1] is None else None
    finished = case.status in FINISHED_STATUSES
    paused_now = paused_since is not None and not finished
    paused_total = sum(
        (business_time_between(calendar, p0, p1 or now) for p0, p1 in pauses), timedelta(0)
    )
    if standard is None or not calendar.ever_open:
        return Clock({}, [], "none", paused_since, paused_total, None, None, None)

    finish_at = _finished_at(ordered) if finished else None
    if finished and finish_at is None:
        finish_at = paused_since or now
    warn = standard.warn_at_percent
    history: list[TargetClock] = []
    current: dict[str, TargetClock] = {}

    responses = [max(e.occurred_at, opened) for e in ordered if is_response(e)]
    first_length = standard.target("first_response")
    if first_length is not None:
        met = responses[0] if responses else None
        t = _target(
            "first_response",
            opened,
            first_length,
            warn,
            met,
            calendar,
            pauses,
            now,
            finished_unmet_at=finish_at,
            paused_now=paused_now,
        )
        history.append(t)
        current[t.target] = t

    next_length = standard.target("next_response")
    if next_length is not None and responses:
        # each customer message after our latest response opens a next-response target
        last_response = responses[0]
        waiting_since: datetime | None = None
        for e in ordered:
            at = max(e.occurred_at, opened)
            if is_response(e) and at >= responses[0]:
                if waiting_since is not None:
                    t = _target(
                        "next_response",
                        waiting_since,
                        next_length,
                        warn,
                        at,
                        calendar,
                        pauses,
                        now,
                    )
                    history.append(t)
                    waiting_since = None
                last_response = max(last_response, at)
            elif is_customer_message(e) and at > last_response and waiting_since is None:
                waiting_since = at
        if waiting_since is not None:
            t = _target(
                "next_response",
                waiting_since,
                next_length,
                warn,
                None,
                calendar,
                pauses,
                now,
                finished_unmet_at=finish_at,
                paused_now=paused_now,
            )
            history.append(t)
        nexts = [h for h in history if h.target == "next_response"]
        if nexts:
            current["next_response"] = nexts[-1]

    resolution_length = standard.target("resolution")
    if resolution_length is not None:
        confirmed = finish_at if case.status == "resolved_confirmed" else None
        unconfirmed = finish_at if case.status == "closed_unconfirmed" else None
        t = _target(
            "resolution",
            opened,
            resolution_length,
            warn,
            confirmed,
            calendar,
            pauses,
            now,
            finished_unmet_at=unconfirmed,
            paused_now=paused_now,
        )
        history.append(t)
        current[t.target] = t

    pending = [t for t in current.values() if t.state in ("on_track", "at_risk", "paused")]
    missed = [t for t in history if t.state in ("breached", "not_met") and t.met_at is None]
    if finished:
        state = "not_met" if any(t.state != "met" for t in current.values()) else "met"
    elif any(t.state == "breached" and t.met_at is None for t in current.values()):
        state = "breached"
    elif paused_now:
        state = "paused"
    elif any(t.state == "at_risk" for t in pending):
        state = "at_risk"
    elif pending:
        state = "on_track"
    else:
        state = "met"
    live = [t for t in pending if t.state != "paused"]
    warned = _recorded(ordered, "sla_warning")
    breached = _recorded(ordered, "sla_breached")
    return Clock(
        targets=current,
        history=history,
        state=state,
        paused_since=paused_since,
        paused=paused_total,
        # the earliest due time not yet met (a missed one first: queues sort on it)
        next_due_at=min(
            (t.due_at for t in [*live, *missed] if t.due_at and t in current.values()),
            default=None,
        ),
        next_warn_at=min((t.warn_at for t in live if t.warn_at), default=None),
        breached_since=min(
            (t.breached_at for t in missed if t.breached_at and not finished), default=None
        ),
        warnings_due=[
            t
            for t in history
            if t.state == "at_risk" and t.key not in warned and t.key not in breached
        ],
        breaches_due=[t for t in history if t.state == "breached" and t.key not in breached],
    )


def short_span(delta: timedelta) -> str:
    """A short duration: "35 min", "2 h", "3 d"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"
