"""A company web site that embeds Loxodon: the chat widget and the activity beacon."""

from __future__ import annotations

import secrets

from django.db import models

from loxodon.core.models import BaseModel


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


class WebProperty(BaseModel):
    """One web site of the company (e.g. the shop), as seen by the widget and the beacon.

    `public_key` is embedded in the site's pages: it names the property, it proves nothing.
    `identity_secret` stays on the company's own server, which signs identity tokens with it to
    say "this visitor is signed in as customer X" (see `identity.py`).
    """

    name = models.CharField(max_length=200)
    site = models.ForeignKey(
        "org.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    public_key = models.CharField(max_length=64, unique=True, default=new_public_key)
    identity_secret = models.CharField(max_length=128, default=new_identity_secret)
    allowed_origins = models.TextField(
        blank=True,
        help_text="one origin per line (https://shop.example.com); empty allows any origin",
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "web properties"

    def __str__(self) -> str:
        return self.name

    def origin_allowed(self, origin: str | None) -> bool:
        allowed = [o.strip().rstrip("/") for o in self.allowed_origins.splitlines() if o.strip()]
        if not allowed:
            return True
        return origin is not None and origin.rstrip("/") in allowed


class WebHitType(models.TextChoices):
    PAGE_VIEW = "page_view", "page view"
    SEARCH = "search", "search"
    CONFIGURATION = "configuration", "product configuration"


class WebVisitor(BaseModel):
    """One browser on one property: `visitor_key` is the random id the page keeps in
    localStorage. Anonymous (`customer` empty) until a valid identity token names a customer;
    from then on the visitor's visits go to that customer's timeline (until a token names
    another customer). Anonymous visitors never create customers."""

    web_property = models.ForeignKey(WebProperty, on_delete=models.CASCADE, related_name="visitors")
    visitor_key = models.CharField(max_length=64)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    identified_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["web_property", "visitor_key"], name="web_visitor_per_property"
            )
        ]
        indexes = [
            # retention: anonymous visitors not seen for a while
            models.Index(
                fields=["last_seen_at"],
                name="web_visitor_anon_seen",
                condition=models.Q(customer__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visitor_key[:8]}… on {self.web_property_id}"

    @property
    def identified(self) -> bool:
        return self.customer_id is not None


class WebVisit(BaseModel):
    """Hits of one visitor with no gap longer than `VISIT_GAP` (30 minutes) between them.
    `event` is the visit's living `web_visit` timeline event, once the visitor is known."""

    # indexed by `web_visit_visitor_recent` (leading column)
    visitor = models.ForeignKey(
        WebVisitor, on_delete=models.CASCADE, related_name="visits", db_index=False
    )
    started_at = models.DateTimeField()
    last_hit_at = models.DateTimeField()
    hit_count = models.PositiveIntegerField(default=0)
    event = models.OneToOneField(
        "timeline.Event",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [
            models.Index(fields=["visitor", "-last_hit_at"], name="web_visit_visitor_recent"),
        ]

    def __str__(self) -> str:
        return f"visit {self.pk} ({self.hit_count} hits)"


class WebHit(models.Model):
    """One page view, search or product configuration, as the page reported it.

    `client_id` is the page's id for the hit, unique per visitor: a replayed beacon finds its
    hits already stored and changes nothing.
    """

    id = models.BigAutoField(primary_key=True)
    # indexed by the `web_hit_once` unique constraint (leading column)
    visitor = models.ForeignKey(
        WebVisitor, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    visit = models.ForeignKey(
        WebVisit, on_delete=models.CASCADE, related_name="hits", db_index=False
    )
    client_id = models.CharField(max_length=64)
    type = models.CharField(max_length=16, choices=WebHitType.choices)
    at = models.DateTimeField()
    received_at = models.DateTimeField()
    url = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    query = models.CharField(max_length=300, blank=True)
    product = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor", "client_id"], name="web_hit_once")
        ]
        indexes = [models.Index(fields=["visit", "at"], name="web_hit_visit_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.url}"
