"""Messages to the customer about a case, queued on the case and sent in one voice (ADR 0009).

Kinds say who may write what:
- `reply` — the case owner writing to the customer;
- `question` — the owner asking the customer something (one open ask per case);
- `resolution_check` — the owner asking "is it solved?" (only while a resolution is proposed);
- `update` — department progress from anyone working the case; never sent on its own, but folded
  into the owner's next message or into a `digest` once the digest window has passed;
- `digest` — written by the worker, from the owner: the consolidated department updates.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from loxodon.core.models import BaseModel


class MessageKind(models.TextChoices):
    REPLY = "reply", "Reply"
    QUESTION = "question", "Question"
    RESOLUTION_CHECK = "resolution_check", "Is it solved?"
    UPDATE = "update", "Department update"
    DIGEST = "digest", "Consolidated update"


# Kinds only the case owner writes (a digest is written by the worker in the owner's name).
OWNER_KINDS = (MessageKind.REPLY, MessageKind.QUESTION, MessageKind.RESOLUTION_CHECK)
# Kinds that ask the customer something and stay open until they answer: one per case.
ASK_KINDS = (MessageKind.QUESTION, MessageKind.RESOLUTION_CHECK)


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    FOLDED = "folded", "Folded into a message"


# An ask that is on its way or delivered (not failed, cancelled) and not yet answered is open.
LIVE_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)


class OutboundMessage(BaseModel):
    """One message to the customer about a case, from queueing to its timeline event."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="outbound_messages"
    )
    author = models.ForeignKey("org.User", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        "org.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the author's department when queued (labels an update in the digest)",
    )
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    body = models.TextField()
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    send_after = models.DateTimeField(help_text="not sent before this time (digest window)")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    error = models.TextField(blank=True, help_text="why the last attempt failed")
    digest = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="folded",
        help_text="for an update: the message it went out in",
    )
    event = models.OneToOneField(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_event = models.ForeignKey(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(kind__in=[str(k) for k in ASK_KINDS])
                & Q(status__in=[str(s) for s in LIVE_STATUSES])
                & Q(answered_at__isnull=True),
                name="outbound_one_open_question_per_case",
                violation_error_message="this case already has an open question to the customer",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="outbound_body_required"),
            models.CheckConstraint(
                condition=Q(kind__in=[c.value for c in MessageKind]),
                name="outbound_known_kind",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in MessageStatus]),
                name="outbound_known_status",
            ),
            models.CheckConstraint(
                condition=Q(digest__isnull=True) | Q(kind=MessageKind.UPDATE),
                name="outbound_only_updates_fold",
            ),
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.FOLDED) | Q(digest__isnull=False),
                name="outbound_folded_has_digest",
            ),
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.SENT)
                | (Q(sent_at__isnull=False) & Q(event__isnull=False)),
                name="outbound_sent_is_on_timeline",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "send_after"], name="outbound_due"),
            models.Index(fields=["case", "created_at"], name="outbound_case"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"

    # --- predicates -------------------------------------------------------------------------
    @property
    def is_open_ask(self) -> bool:
        return self.kind in ASK_KINDS and self.status in LIVE_STATUSES and self.answered_at is None

    def can_cancel(self) -> bool:
        return self.status == MessageStatus.QUEUED

    def can_retry(self) -> bool:
        return self.status == MessageStatus.FAILED and self.kind != MessageKind.UPDATE
