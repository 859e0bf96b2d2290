"""Inbound mail as received: one row per distinct message, with its raw file and outcome.

The raw message stays in the spool (`cur/` once handled, `failed/` when it could not be
turned into a timeline event), so every message can be read again, downloaded by staff, or
reprocessed. Attachments that passed the size limits are stored through Django's storage.
"""

from __future__ import annotations

from django.db import models

from loxodon.core.models import BaseModel


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received (being processed)"
    PROCESSED = "processed", "On the timeline"
    DUPLICATE = "duplicate", "Repeat delivery of a message already on the timeline"
    IGNORED = "ignored", "Kept, not put on a timeline (bounce or our own mail)"
    FAILED = "failed", "Could not be processed"
    QUARANTINED = "quarantined", "Held for staff: suspected forgery or over the sender's limit"


class InboundMail(BaseModel):
    """One distinct inbound message (identical bytes delivered twice are one row)."""

    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    error = models.TextField(blank=True, help_text="why processing failed, for staff")
    attempts = models.PositiveIntegerField(default=0)
    spool_name = models.CharField(max_length=200, unique=True, help_text="raw file in the spool")
    sha256 = models.CharField(max_length=64, unique=True, help_text="of the message bytes")
    size = models.PositiveIntegerField(default=0)
    envelope_from = models.CharField(max_length=500, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    message_id = models.CharField(max_length=500, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    flags = models.JSONField(default=dict, blank=True)
    defects = models.JSONField(default=list, blank=True)
    html = models.TextField(blank=True, help_text="sanitised HTML part (nh3); never raw")
    event = models.ForeignKey(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "-received_at"], name="inbound_status_recent"),
            models.Index(fields=["message_id"], name="inbound_message_id"),
            # the per-sender limit counts one sender's recent mail (quarantine.over_sender_rate)
            models.Index(fields=["from_address", "received_at"], name="inbound_sender_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.subject or self.spool_name}"

    @property
    def no_reply_reasons(self) -> list[str]:
        reasons = self.flags.get("no_reply", []) if isinstance(self.flags, dict) else []
        return [str(r) for r in reasons]

    def can_reprocess(self) -> bool:
        return self.status in (
            InboundStatus.FAILED,
            InboundStatus.IGNORED,
            InboundStatus.QUARANTINED,
        )


class MailAttachment(BaseModel):
    """A file that came with an inbound message, stored through Django's storage."""

    inbound = models.ForeignKey(InboundMail, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content_id = models.CharField(max_length=255, blank=True, help_text="cid: of inline images")
    storage_name = models.CharField(max_length=255)

    def __str__(self) -> str:
        return self.filename
