"""Demo service standards (ADR 10): central targets per priority, a few site overrides,
Mon-Fri 08:00-18:00 business hours, and UK bank holidays for the British sites.

Call `seed_standards(world)` from `seed_demo` right after the organisation is created (sites,
departments and the `admin` login exist). Idempotent: running it again replaces the same rows.
"""

from __future__ import annotations

from datetime import date, time

from loxodon.demo.world import DemoWorld
from loxodon.org.models import Role, User
from loxodon.sla.models import Holiday
from loxodon.sla.services import (
    StandardTerms,
    add_holiday,
    save_standard,
    set_business_hours,
)

# priority: (first response, next response, resolution) in business minutes, warn %
CENTRAL: dict[str, tuple[int, int, int, int]] = {
    "urgent": (30, 60, 8 * 60, 75),
    "high": (60, 120, 3 * 600, 80),
    "normal": (4 * 60, 8 * 60, 5 * 600, 80),
    "low": (8 * 60, 16 * 60, 10 * 600, 80),
}
# site: priority -> (first, next, resolution, warn, reassign on breach): local autonomy
OVERRIDES: dict[str, dict[str, tuple[int, int, int, int, bool]]] = {
    "london-city": {"urgent": (15, 30, 6 * 60, 70, True), "high": (45, 90, 3 * 600, 80, False)},
    "manchester": {"normal": (3 * 60, 6 * 60, 4 * 600, 80, False)},
    "glasgow": {"low": (12 * 60, 24 * 60, 15 * 600, 85, False)},
}
WEEKDAYS = [(d, time(8), time(18)) for d in range(5)]
# Glasgow also opens on Saturday mornings
SITE_HOURS = {"glasgow": [*WEEKDAYS, (5, time(9), time(13))]}

# Closed at every site
CENTRAL_HOLIDAYS = {
    date(2026, 12, 25): "Christmas Day",
    date(2027, 1, 1): "New Year's Day",
    date(2027, 12, 27): "Christmas Day (substitute day)",
}
# England and Wales bank holidays (gov.uk), for the sites in GB
UK_BANK_HOLIDAYS = {
    date(2026, 1, 1): "New Year's Day",
    date(2026, 4, 3): "Good Friday",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 4): "Early May bank holiday",
    date(2026, 5, 25): "Spring bank holiday",
    date(2026, 8, 31): "Summer bank holiday",
    date(2026, 12, 28): "Boxing Day (substitute day)",
    date(2027, 3, 26): "Good Friday",
    date(2027, 3, 29): "Easter Monday",
    date(2027, 5, 3): "Early May bank holiday",
    date(2027, 5, 31): "Spring bank holiday",
    date(2027, 8, 30): "Summer bank holiday",
    date(2027, 12, 28): "Boxing Day (substitute day)",
}
SCOTLAND = {date(2026, 11, 30): "St Andrew's Day", date(2027, 11, 30): "St Andrew's Day"}


def _admin(world: DemoWorld) -> User:
    admin = world.staff.get("admin")
    if admin is not None:
        return admin
    return User.objects.filter(role=Role.ADMIN).order_by("username").first() or User.objects.get(
        is_superuser=True
    )


def seed_standards(world: DemoWorld) -> int:
    """Create the demo's standards, hours and holidays; returns how many rows exist."""
    actor = _admin(world)
    rows = 0
    for priority, (first, nxt, resolution, warn) in CENTRAL.items():
        save_standard(
            actor=actor,
            site=None,
            terms=StandardTerms(priority, f"Central {priority}", first, nxt, resolution, warn),
        )
        rows += 1
    for code, standards in OVERRIDES.items():
        site = world.sites.get(code)
        if site is None:
            continue
        for priority, (first, nxt, resolution, warn, reassign) in standards.items():
            name = f"{site.name} {priority}"
            save_standard(
                actor=actor,
                site=site,
                terms=StandardTerms(priority, name, first, nxt, resolution, warn, reassign),
            )
            rows += 1
    rows += len(set_business_hours(actor=actor, site=None, spans=WEEKDAYS))
    for code, spans in SITE_HOURS.items():
        if code in world.sites:
            rows += len(set_business_hours(actor=actor, site=world.sites[code], spans=spans))
    existing = set(Holiday.objects.values_list("site_id", "date"))
    for day, name in CENTRAL_HOLIDAYS.items():
        if (None, day) not in existing:
            add_holiday(actor=actor, site=None, day=day, name=name)
    for site in world.sites.values():
        if site.country != "GB":
            continue
        days = dict(UK_BANK_HOLIDAYS)
        if site.code == "glasgow":
            days.update(SCOTLAND)
        for day, name in days.items():
            if (site.pk, day) not in existing and day not in CENTRAL_HOLIDAYS:
                add_holiday(actor=actor, site=site, day=day, name=name)
    return rows + Holiday.objects.count()
