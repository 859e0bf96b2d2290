"""Customers (people), accounts (business customers) and the identifiers they are known by."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from loxodon.core.models import BaseModel


class Account(BaseModel):
    """A business customer and the context every agent should know about it."""

    class Size(models.TextChoices):
        MICRO = "micro", "1-9 staff"
        SMALL = "small", "10-49 staff"
        MEDIUM = "medium", "50-249 staff"
        LARGE = "large", "250+ staff"

    name = models.CharField(max_length=200)
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=16, choices=Size.choices, blank=True)
    key_contacts = models.JSONField(
        default=list, blank=True, help_text='[{"name", "role", "email", "phone"}]'
    )
    notes = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["name"], name="account_name_idx")]

    def __str__(self) -> str:
        return self.name


class Customer(BaseModel):
    """One person, however they contact us. The profile fields also feed identity matching."""

    name = models.CharField(max_length=200)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    home_site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_recent_idx"),
            models.Index(fields=["last_name", "postcode"], name="customer_block_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    ACCOUNT_NUMBER = "account_number", "Account number"
    LEGACY = "legacy", "Legacy id (SITE:id)"
    CHAT_VISITOR = "chat_visitor", "Chat visitor"
    EXTERNAL = "external", "External system id"


# Identifiers that, once verified, name exactly one person.
STRONG_KINDS = (
    IdentityKind.EMAIL,
    IdentityKind.PHONE,
    IdentityKind.ACCOUNT_NUMBER,
    IdentityKind.LEGACY,
)


class Identity(BaseModel):
    """(kind, normalised value) a customer is known by, with where it came from."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    value = models.CharField(max_length=254)
    verified = models.BooleanField(default=False)
    source = models.CharField(max_length=64, blank=True, help_text="system or channel it came from")
    site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=Q(verified=True) & Q(kind__in=[str(k) for k in STRONG_KINDS]),
                name="verified_strong_identity_unique",
                violation_error_message="this identifier is already verified for another customer",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "value"], name="identity_once_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["kind", "value"], name="identity_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
