"""`{% sla_badge case %}`: the case's service-standard state as a compact, colour-coded badge
("on track", "due in 35 min", "breached 2 h ago", "paused"), from its CaseClock (select it with
the case: `select_related("sla_clock")`; no query here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from loxodon.sla.clock import short_span as span
from loxodon.sla.models import CaseClock, ClockState

register = template.Library()

STYLES = {
    ClockState.ON_TRACK: "text-bg-success",
    ClockState.AT_RISK: "text-bg-warning",
    ClockState.BREACHED: "text-bg-danger",
    ClockState.PAUSED: "text-bg-secondary",
    ClockState.MET: "text-bg-light border",
    ClockState.NOT_MET: "text-bg-light border border-danger text-danger",
}


def badge(clock: CaseClock | None, now: datetime) -> dict[str, str] | None:
    if clock is None or clock.state == ClockState.NONE:
        return None
    state = clock.display_state(now)
    if state == ClockState.BREACHED:
        at = clock.breached_at(now)
        text = f"breached {span(now - at)} ago" if at else "breached"
    elif state in (ClockState.ON_TRACK, ClockState.AT_RISK) and clock.next_due_at:
        text = f"due in {span(clock.next_due_at - now)}"
        if state == ClockState.ON_TRACK and clock.next_due_at - now > timedelta(hours=4):
            text = "on track"
    elif state == ClockState.PAUSED:
        text = "paused"
    elif state == ClockState.MET:
        text = "met"
    elif state == ClockState.NOT_MET:
        text = "not met"
    else:
        text = ClockState(state).label
    title = ClockState(state).label
    if clock.next_due_at and state in (ClockState.ON_TRACK, ClockState.AT_RISK):
        title += f" · due {timezone.localtime(clock.next_due_at):%d %b %H:%M}"
    return {
        "state": state,
        "text": text,
        "style": STYLES.get(ClockState(state), ""),
        "title": title,
    }


def clock_of(case: Any) -> CaseClock | None:
    try:
        clock = case.sla_clock
    except ObjectDoesNotExist:
        return None
    return clock if isinstance(clock, CaseClock) else None


@register.inclusion_tag("sla/_badge.html")
def sla_badge(case: Any) -> dict[str, Any]:
    return {"badge": badge(clock_of(case), timezone.now())}


def panel(case: Any, now: datetime) -> dict[str, Any] | None:
    """Each target of the case's clock, with times in the site's time zone (no query)."""
    from zoneinfo import ZoneInfo

    from loxodon.sla.models import TARGET_LABELS, TARGETS

    clock = clock_of(case)
    if clock is None:
        return None
    zone = ZoneInfo(case.site.time_zone if case.site_id and case.site else "UTC")

    def local(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%a %d %b %H:%M %Z") if at else ""

    rows = []
    for name in TARGETS:
        due = getattr(clock, f"{name}_due_at")
        met = getattr(clock, f"{name}_met_at")
        breached = getattr(clock, f"{name}_breached_at")
        if due is None and met is None:
            continue
        if met is not None:
            state = "breached" if breached else "met"
            text = f"{'answered late' if breached else 'met'} {local(met)}"
        elif breached is not None or due <= now:
            state, text = "breached", f"missed: was due {local(due)}"
        elif clock.paused_since is not None:
            state, text = "paused", f"paused; due {local(due)} if the customer answered now"
        elif getattr(clock, f"{name}_warned_at") or (
            clock.next_warn_at and clock.next_warn_at <= now and due == clock.next_due_at
        ):
            state, text = "at_risk", f"due {local(due)} (in {span(due - now)})"
        else:
            state, text = "on_track", f"due {local(due)} (in {span(due - now)})"
        rows.append(
            {
                "label": TARGET_LABELS[name],
                "state": state,
                "text": text,
                "style": STYLES.get(ClockState(state), ""),
            }
        )
    return {
        "clock": clock,
        "badge": badge(clock, now),
        "rows": rows,
        "standard": standard_label(clock.standard),
        "paused_since": local(clock.paused_since),
        "time_zone": str(zone),
    }


def standard_label(standard: Any) -> str:
    """Which standard applies, without touching its site (no query)."""
    if standard is None:
        return ""
    scope = "central" if standard.site_id is None else "site override"
    return standard.name or f"{standard.get_priority_display()} ({scope})"


@register.inclusion_tag("sla/_case_panel.html")
def sla_panel(case: Any) -> dict[str, Any]:
    return {"panel": panel(case, timezone.now())}


@register.filter
def minutes(value: int | None) -> str:
    """Business minutes for reading: "480 min (8 h)", "90 min (1 h 30)", "—" for no target."""
    if value is None or value == "":
        return "—"
    value = int(value)
    if value < 60:
        return f"{value} min"
    hours, rest = divmod(value, 60)
    return f"{value} min ({hours} h{f' {rest:02d}' if rest else ''})"
