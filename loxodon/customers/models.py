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
    # Survivorship inputs: was the profile confirmed by the customer, and when was it last set.
    profile_verified = models.BooleanField(default=False)
    profile_updated_at = models.DateTimeField(null=True, blank=True)
    # Values that lost a merge's survivorship rules: [{"field", "value", "merge_id", "at"}].
    profile_history = models.JSONField(default=list, blank=True)
    # Set when this record was merged into another customer; it then owns nothing and is hidden.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed"
    )

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_recent_idx"),
            models.Index(fields=["last_name", "postcode"], name="customer_block_idx"),
            models.Index(fields=["postcode"], name="customer_postcode_idx"),
            models.Index(fields=["date_of_birth"], name="customer_dob_idx"),
        ]

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

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


class Merge(BaseModel):
    """One customer absorbed into another: who, why, with what score, and exactly what moved.

    `moved` lists, per "app_label.Model.field", the primary keys re-pointed from the absorbed
    customer to the survivor; `survivor_before`/`absorbed_before` are the profiles before the
    merge. Together they let `unmerge` restore both customers exactly.
    """

    class Method(models.TextChoices):
        MANUAL = "manual", "Merged by hand"
        REVIEW = "review", "Merged from the review queue"
        AUTOMATIC = "automatic", "Merged automatically by linkage"

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_in")
    absorbed = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_out")
    method = models.CharField(max_length=16, choices=Method.choices)
    merged_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    score = models.FloatField(null=True, blank=True, help_text="match probability, if scored")
    moved = models.JSONField(default=dict)
    survivor_before = models.JSONField(default=dict)
    absorbed_before = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undo_reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["survivor", "-created_at"], name="merge_survivor_idx"),
            models.Index(fields=["absorbed", "-created_at"], name="merge_absorbed_idx"),
        ]

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class MatchModel(BaseModel):
    """A trained linkage model: Splink's settings with its learnt m/u probabilities.

    The batch linkage writes one per training; the newest active one also scores real-time
    resolution, so the weights come from data, not hand-tuned constants.
    """

    settings = models.JSONField(help_text="Splink model JSON (comparisons with m/u probabilities)")
    trained_on = models.PositiveIntegerField(default=0, help_text="records in the training data")
    note = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["active", "-created_at"], name="matchmodel_active_idx")]


class LinkageRun(BaseModel):
    """One run of `loxodon link_customers`, with its figures."""

    model = models.ForeignKey(MatchModel, null=True, blank=True, on_delete=models.SET_NULL)
    backend = models.CharField(max_length=16, default="duckdb")
    scope = models.CharField(max_length=100, default="all", help_text="all, or site:CODE")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)
    pairs_scored = models.PositiveIntegerField(default=0)
    auto_merged = models.PositiveIntegerField(default=0)
    queued_for_review = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict, blank=True)


class MatchReview(BaseModel):
    """A pair linkage was unsure about, waiting for a person: merge, or not the same person.

    The pair is stored in a fixed order (customer_a.id < customer_b.id) so it is unique; a
    "not the same person" decision is remembered and the pair is never suggested again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        MERGED = "merged", "Merged"
        NOT_SAME = "not_same", "Not the same person"
        OBSOLETE = "obsolete", "No longer applies"

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(help_text="match probability 0..1")
    match_weight = models.FloatField(default=0.0, help_text="log2 Bayes factor")
    comparison = models.JSONField(
        default=list, blank=True, help_text='[{"field", "level", "bayes_factor"}] per comparison'
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    run = models.ForeignKey(LinkageRun, null=True, blank=True, on_delete=models.SET_NULL)
    decided_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    merge = models.ForeignKey(Merge, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="review_pair_once"),
        ]
        indexes = [models.Index(fields=["status", "-score"], name="review_queue_idx")]


class Erasure(BaseModel):
    """A customer erased on request (right to be forgotten): who, when, why; no personal data.

    `customers.erasure.erase_customer` writes it in the same transaction that pseudonymises
    the customer; `covers` lists the customers merged into this one, erased with it. The same
    ids go to the erasure ledger outside the database, so a restore cannot bring them back.
    """

    erased_customer_id = models.UUIDField(unique=True)
    covers = models.JSONField(default=list, blank=True, help_text="absorbed customers' ids")
    erased_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    rows = models.JSONField(default=dict, blank=True, help_text='{"app.Model": rows changed}')
    files_deleted = models.PositiveIntegerField(default=0)
    reapplied = models.BooleanField(
        default=False, help_text="re-applied from the ledger after a restore"
    )

    def __str__(self) -> str:
        return f"erasure of {self.erased_customer_id}"
