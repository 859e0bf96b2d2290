"""Cases the customer owns: one problem, one accountable owner, department tasks under it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from loxodon.core.models import BaseModel


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    WAITING_ON_US = "waiting_on_us", "Waiting on us"
    RESOLUTION_PROPOSED = "resolution_proposed", "Resolution proposed"
    RESOLVED_CONFIRMED = "resolved_confirmed", "Resolved (customer confirmed)"
    CLOSED_UNCONFIRMED = "closed_unconfirmed", "Closed (unconfirmed)"


ACTIVE = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.WAITING_ON_CUSTOMER,
    CaseStatus.WAITING_ON_US,
)
FINISHED = (CaseStatus.RESOLVED_CONFIRMED, CaseStatus.CLOSED_UNCONFIRMED)
# Open from the customer's point of view: everything not resolved or closed.
OPEN_STATUSES = (*ACTIVE, CaseStatus.RESOLUTION_PROPOSED)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Case(BaseModel):
    """One customer problem, in the customer's words, with one accountable owner."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cases"
    )
    problem = models.TextField(help_text="the problem in the customer's own words")
    status = models.CharField(max_length=24, choices=CaseStatus.choices, default=CaseStatus.NEW)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    owner = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="owned_cases"
    )
    site = models.ForeignKey("org.Site", null=True, blank=True, on_delete=models.PROTECT)
    opened_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_summary = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)
    confirmation_event = models.ForeignKey(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopen_count = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, help_text="increments on every change")
    # Where an integration opened the case: `(source, external_id)` makes a repeat delivery
    # return the stored case instead of opening a second one. Blank for cases opened in Loxodon.
    source = models.CharField(max_length=64, blank=True, default="", db_default="")
    external_id = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="case_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(status=CaseStatus.NEW) | Q(owner__isnull=False),
                name="case_owned_once_assigned",
                violation_error_message="a case past 'new' must have one accountable owner",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="case_customer_status"),
            models.Index(fields=["owner", "status"], name="case_owner_status"),
            models.Index(fields=["site", "status"], name="case_site_status"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        first_line = self.problem.strip().splitlines()[0] if self.problem.strip() else ""
        return first_line[:80] + ("…" if len(first_line) > 80 else "")

    # --- predicates: what may happen next (services enforce them, the UI offers only these) ---
    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def can_assign(self) -> bool:
        return not self.is_finished

    def can_add_task(self) -> bool:
        return not self.is_finished

    def can_hand_off(self) -> bool:
        return not self.is_finished and self.owner_id is not None

    def can_wait(self) -> bool:
        return self.status in (
            CaseStatus.OPEN,
            CaseStatus.WAITING_ON_CUSTOMER,
            CaseStatus.WAITING_ON_US,
        )

    def can_propose_resolution(self) -> bool:
        return self.status in (
            CaseStatus.OPEN,
            CaseStatus.WAITING_ON_CUSTOMER,
            CaseStatus.WAITING_ON_US,
        )

    def can_confirm(self) -> bool:
        return self.status == CaseStatus.RESOLUTION_PROPOSED

    def can_reopen(self) -> bool:
        return self.status in (CaseStatus.RESOLUTION_PROPOSED, *FINISHED)

    def can_close_unconfirmed(self) -> bool:
        # a closed case keeps one accountable owner (case_owned_once_assigned): assign first
        return not self.is_finished and self.owner_id is not None

    def allowed_actions(self) -> list[str]:
        checks = {
            "assign": self.can_assign,
            "add_task": self.can_add_task,
            "note": lambda: True,
            "hand_off": self.can_hand_off,
            "wait": self.can_wait,
            "propose_resolution": self.can_propose_resolution,
            "confirm": self.can_confirm,
            "reopen": self.can_reopen,
            "close_unconfirmed": self.can_close_unconfirmed,
        }
        return [name for name, check in checks.items() if check()]


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Task(BaseModel):
    """A department's piece of work under a case. Finishing it never closes the case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey("org.Department", on_delete=models.PROTECT)
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completion_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["department", "status"], name="task_department_status"),
            models.Index(fields=["assignee", "status"], name="task_assignee_status"),
        ]

    def __str__(self) -> str:
        return self.title

    def can_complete(self) -> bool:
        return self.status == TaskStatus.OPEN and not self.case.is_finished


class Handoff(BaseModel):
    """Ownership moving from one person to another, with the context the receiver needs."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handoffs")
    from_user = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey("org.User", on_delete=models.PROTECT, related_name="+")
    context = models.TextField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(context=""), name="handoff_context_required")
        ]

    def __str__(self) -> str:
        return f"{self.from_user} → {self.to_user}"
