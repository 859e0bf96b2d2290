"""Service standards (SLAs): targets per site, priority and case type; business hours; holidays;
and one clock per case (ADR 10).

- `ServiceStandard`: `site` null = central. A site's own row overrides the central one for the
  same priority and case type. The *case type* is the owner's department (`department` null =
  any department): cases have no type of their own, and the owner's department is what decides
  the kind of work (sales, support, warranty...). Lookup order, most specific first: site +
  department, site + any, central + department, central + any (local autonomy beats type).
- `BusinessHours`: rows per weekday, local wall time of the site's time zone. A site without
  rows uses the central rows (`site` null); no rows at all means 24/7. `closes` 00:00 means
  midnight at the end of the day (00:00-00:00 is a whole day); spans never cross midnight (an
  overnight shift is two rows).
- `Holiday`: a closed local date, for one site or (site null) every site.
- `CaseClock`: the persisted result of `sla.clock.compute_clock`, written only by
  `sla.services.refresh_case_clock`. Queues read it with the case (one join).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q

from loxodon.cases.models import Priority
from loxodon.core.models import BaseModel

TARGETS = ("first_response", "next_response", "resolution")
TARGET_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution (customer confirmed)",
}


class ServiceStandard(BaseModel):
    """Targets in business minutes (null = no target) for cases of a priority (and type)."""

    site = models.ForeignKey(
        "org.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="service_standards",
        help_text="empty = central standard for every site",
    )
    priority = models.CharField(max_length=8, choices=Priority.choices)
    department = models.ForeignKey(
        "org.Department",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="case type: the owner's department; empty = any",
    )
    name = models.CharField(max_length=120, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warn_at_percent = models.PositiveSmallIntegerField(
        default=80, help_text="warn when this share of a target's business time is used"
    )
    reassign_on_breach = models.BooleanField(
        default=False, help_text="on a breach, hand the case to a supervisor of its site"
    )

    class Meta:
        ordering = ["site__code", "priority", "department__code"]
        constraints = [
            # one row per (site|central, priority, department|any): four partial constraints,
            # because NULLs are distinct in a plain unique constraint
            models.UniqueConstraint(
                fields=["site", "priority", "department"],
                condition=Q(site__isnull=False, department__isnull=False),
                name="sla_standard_site_dept",
            ),
            models.UniqueConstraint(
                fields=["site", "priority"],
                condition=Q(site__isnull=False, department__isnull=True),
                name="sla_standard_site_any",
            ),
            models.UniqueConstraint(
                fields=["priority", "department"],
                condition=Q(site__isnull=True, department__isnull=False),
                name="sla_standard_central_dept",
            ),
            models.UniqueConstraint(
                fields=["priority"],
                condition=Q(site__isnull=True, department__isnull=True),
                name="sla_standard_central_any",
            ),
            models.CheckConstraint(
                condition=Q(warn_at_percent__gte=1, warn_at_percent__lte=100),
                name="sla_standard_warn_percent",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id and self.site else "central"
        return self.name or f"{where} · {self.priority}"

    @property
    def is_central(self) -> bool:
        return self.site_id is None

    def target(self, name: str) -> timedelta | None:
        minutes = getattr(self, f"{name}_minutes")
        return None if minutes is None else timedelta(minutes=minutes)


class BusinessHours(BaseModel):
    """One opening span of a weekday (0 = Monday), in the site's local time."""

    site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="business_hours"
    )
    weekday = models.PositiveSmallIntegerField(
        choices=[(i, d) for i, d in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))]
    )
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 = midnight at the end of the day")

    class Meta:
        ordering = ["site__code", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__lte=6), name="sla_hours_weekday", violation_error_message="0-6"
            ),
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")) | Q(closes="00:00:00"),
                name="sla_hours_closes_after_opens",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(BaseModel):
    site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "date"], condition=Q(site__isnull=False), name="sla_holiday_site"
            ),
            models.UniqueConstraint(
                fields=["date"], condition=Q(site__isnull=True), name="sla_holiday_central"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}"


class ClockState(models.TextChoices):
    NONE = "none", "No standard"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "About to breach"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused (waiting on the customer)"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"


class CaseClock(models.Model):
    """The case's service-standard clock: due times, outcomes and warnings per target.

    Derived state (recomputed from the case's history by `sla.services.refresh_case_clock`),
    never edited by hand. `next_due_at` / `next_warn_at` are those of the earliest pending
    target, so a queue can show and sort "due in 35 min" without recomputing anything.
    """

    case = models.OneToOneField(
        "cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="sla_clock"
    )
    standard = models.ForeignKey(
        ServiceStandard, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=12, choices=ClockState.choices, default=ClockState.NONE)
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_warn_at = models.DateTimeField(null=True, blank=True)
    breached_since = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_minutes = models.PositiveIntegerField(default=0, help_text="business minutes paused")
    ever_breached = models.BooleanField(default=False)

    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_met_at = models.DateTimeField(null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    next_response_since = models.DateTimeField(
        null=True, blank=True, help_text="the unanswered customer message the target runs from"
    )
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_met_at = models.DateTimeField(null=True, blank=True)
    next_response_warned_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_met_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)

    computed_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_due_at"], name="sla_clock_state_due")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.state}"

    def display_state(self, now: datetime) -> str:
        """The state as of `now` (the row may be minutes old: a due time may have passed)."""
        if self.state in (ClockState.ON_TRACK, ClockState.AT_RISK):
            if self.next_due_at is not None and self.next_due_at <= now:
                return ClockState.BREACHED
            if self.next_warn_at is not None and self.next_warn_at <= now:
                return ClockState.AT_RISK
        return str(self.state)

    def breached_at(self, now: datetime) -> datetime | None:
        if self.breached_since is not None:
            return self.breached_since
        if self.display_state(now) == ClockState.BREACHED:
            return self.next_due_at
        return None
