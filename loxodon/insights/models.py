"""Survey invitations: one signed, single-use link per touchpoint, customer and window.

The answers themselves are not stored here: a response is a `survey` event on the customer's
timeline (`response_event`), like every other interaction. Only a SHA-256 digest of the link's
token is kept, so a copy of the database cannot be used to answer (or read) anyone's survey.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from loxodon.core.models import BaseModel


class Touchpoint(models.TextChoices):
    SALES = "sales", "Sales"
    SERVICE = "service", "Service"
    SUPPORT = "support", "Support"


class InvitationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    PORTAL = "portal", "Portal"


class SurveyInvitation(BaseModel):
    """An invitation to tell us how one touchpoint went; answered at most once."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="survey_invitations"
    )
    touchpoint = models.CharField(max_length=16, choices=Touchpoint.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    about_event = models.ForeignKey(
        "timeline.Event",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="what the survey is about when it is not a case, e.g. the order",
    )
    channel = models.CharField(max_length=16, choices=InvitationChannel.choices)
    invited_at = models.DateTimeField(help_text="starts the window and the expiry")
    expires_at = models.DateTimeField()
    # SHA-256 of the link's token (hex); empty until an email invitation is sent (the worker
    # makes the token when it writes the email, so the token is never stored anywhere).
    token_digest = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    send_error = models.CharField(max_length=500, blank=True, default="")
    used_at = models.DateTimeField(null=True, blank=True)
    response_event = models.ForeignKey(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # The token in clear, only on the instance that made it (portal invitations, the sending
    # worker); never saved.
    token: str | None = None

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token_digest"],
                condition=~Q(token_digest=""),
                name="survey_invitation_token_digest",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("invited_at")),
                name="survey_invitation_expires_after_invited",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "touchpoint", "-invited_at"], name="survey_invitation_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.touchpoint} survey for {self.customer_id}"

    def is_used(self) -> bool:
        return self.used_at is not None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def can_answer(self, now: datetime) -> bool:
        return not self.is_used() and not self.is_expired(now)
