"""Phone calls reported by a telephony system (IVR / CTI), and the integrations that report them.

A `Call` is the authoritative live state of one phone call; its timeline `Event` (kind "call")
is the rendering of that state (ADR 0008). Every webhook delivery that changed a call is kept as
a `CallStep`: the call's audit trail and the idempotency record of its deliveries.
"""

from __future__ import annotations

import secrets

from django.db import models

from loxodon.core.models import BaseModel


def new_key_id() -> str:
    return "vk_" + secrets.token_hex(8)


def new_secret() -> str:
    return "vs_" + secrets.token_urlsafe(32)


class VoiceIntegration(BaseModel):
    """One telephony system (PBX, IVR, contact-centre platform) allowed to report calls.

    `key_id` names the integration in every request (not a secret). `secret` signs the requests
    (HMAC-SHA256, see `signing.py`); it is shown once, by `loxodon create_voice_integration`,
    and hidden in the admin. It is stored as given because verifying an HMAC needs the key
    itself (the same trade-off as Stripe's or GitHub's webhook secrets).
    """

    name = models.CharField(max_length=200)
    key_id = models.CharField(max_length=64, unique=True, default=new_key_id)
    secret = models.CharField(max_length=128, default=new_secret)
    site = models.ForeignKey(
        "org.Site",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the service centre whose calls this system reports (stamped on the events)",
    )
    active = models.BooleanField(default=True, help_text="inactive integrations are refused (401)")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def source(self) -> str:
        """The timeline `source` of the events this integration's calls become."""
        return f"voice:{self.key_id}"


class CallStatus(models.TextChoices):
    PENDING = "pending", "Pending (steps arrived before call.started)"
    STARTED = "started", "Started"
    IN_IVR = "ivr_completed", "IVR completed"
    ROUTED = "routed", "Routed"
    ENDED = "ended", "Ended"


class Call(BaseModel):
    """The live state of one call, locked (`select_for_update`) while a step is applied."""

    integration = models.ForeignKey(
        VoiceIntegration, on_delete=models.PROTECT, related_name="calls"
    )
    call_id = models.CharField(max_length=200, help_text="the telephony system's id of the call")
    status = models.CharField(max_length=16, choices=CallStatus.choices, default=CallStatus.PENDING)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="whose timeline the call is on (set when the event is created)",
    )
    event = models.OneToOneField(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    caller = models.CharField(max_length=20, blank=True, help_text="E.164; empty if withheld")
    caller_raw = models.CharField(max_length=64, blank=True, help_text="as delivered")
    dialled = models.CharField(max_length=64, blank=True, help_text="the line the caller dialled")
    started_at = models.DateTimeField(null=True, blank=True)
    ivr_completed = models.BooleanField(default=False)
    ivr_verified = models.BooleanField(default=False)
    ivr_account_number = models.CharField(max_length=64, blank=True)
    ivr_menu_path = models.JSONField(default=list, blank=True)
    ivr_intent = models.CharField(max_length=100, blank=True)
    routings = models.JSONField(
        default=list,
        blank=True,
        help_text='every routing in time order: [{"at", "agent", "agent_name", "department", '
        '"department_name"}]; the last one is where the call is now',
    )
    routed_agent = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    routed_department = models.ForeignKey(
        "org.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_url = models.CharField(max_length=2000, blank=True)
    transcript_ref = models.CharField(max_length=500, blank=True)
    mismatch_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the IVR-verified account's customer, when the call's event was already on "
        "another customer (events never move between customers)",
    )
    note = models.CharField(max_length=300, blank=True, help_text="what the agent should know")
    popped = models.CharField(
        max_length=80, blank=True, help_text="agent:customer of the last screen-pop sent"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "call_id"], name="voice_call_once")
        ]

    def __str__(self) -> str:
        return f"call {self.call_id} ({self.status})"


class CallStep(BaseModel):
    """One delivery that changed a call: its audit trail and its idempotency key.

    `delivery_id` is unique per integration, so a replayed delivery is recognised; `content_hash`
    fingerprints what it said (without its id), so reusing an id for other content is a 409.
    """

    integration = models.ForeignKey(VoiceIntegration, on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="steps")
    delivery_id = models.CharField(max_length=200)
    type = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    data = models.JSONField(default=dict, help_text="the delivery as validated")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "delivery_id"], name="voice_delivery_once"
            )
        ]
        indexes = [models.Index(fields=["call", "occurred_at"], name="voice_step_call_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.delivery_id}"
