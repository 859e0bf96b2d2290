"""The customer's side: how they sign in, and what they keep for themselves.

A `PortalLogin` belongs to one customer through one verified email identity (verified strong
identities are unique, so an address opens exactly one customer's portal). Magic links are
single-use and short-lived; only their SHA-256 is stored. Pins, labels and nicknames are the
customer's own organisation of their picture; nothing staff-facing depends on them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from loxodon.core.models import BaseModel


class PortalLogin(BaseModel):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="portal_logins"
    )
    identity = models.OneToOneField(
        "customers.Identity",
        on_delete=models.PROTECT,
        related_name="portal_login",
        help_text="the verified email address this login signs in with",
    )
    password = models.CharField(max_length=128, blank=True, help_text="empty: magic links only")
    is_account_admin = models.BooleanField(
        default=False, help_text="sees the business account's cases too"
    )
    is_active = models.BooleanField(default=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"portal login of {self.customer_id}"

    @property
    def email(self) -> str:
        return self.identity.value


class MagicLink(BaseModel):
    """A single-use link: sign in, or confirm a new email address."""

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", "Sign in"
        CONFIRM_EMAIL = "confirm_email", "Confirm a new email address"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    login = models.ForeignKey(
        PortalLogin, null=True, blank=True, on_delete=models.CASCADE, related_name="magic_links"
    )
    email = models.CharField(max_length=254, help_text="normalised; for confirm_email the new one")
    token_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "created_at"], name="portal_magic_email")]

    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class Pin(BaseModel):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_pins"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "case"], name="portal_pin_once")]


class Label(BaseModel):
    """The customer's own word on one of their things (a case, an event, a product)."""

    class Kind(models.TextChoices):
        CASE = "case", "Case"
        EVENT = "event", "Timeline item"
        ASSET = "asset", "Product"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_labels"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.UUIDField()
    name = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "object_id", "name"], name="portal_label_once"
            )
        ]
        indexes = [models.Index(fields=["customer", "name"], name="portal_label_name")]


class Nickname(BaseModel):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_nicknames"
    )
    asset = models.OneToOneField(
        "timeline.Asset", on_delete=models.CASCADE, related_name="portal_nickname"
    )
    name = models.CharField(max_length=60)


class Attachment(BaseModel):
    """A file the customer added to a case from the portal (stored via Django's storage)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="portal_attachments"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(
        "timeline.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255)


class DataExport(BaseModel):
    """ "Download my data": a zip of everything we hold about the customer that they may see."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="portal_exports"
    )
    storage_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    downloaded_at = models.DateTimeField(null=True, blank=True)
