"""The one knowledge base: articles and their versions, policies, exceptions and citations.

Every edit of an article is a new `ArticleVersion` (never changed afterwards); `Article` points at
its current version and carries the fields lists and filters need. Customers, the portal and the
public API only ever see `public` articles, and only their current version.

A policy is an article whose versions carry typed parameters and per-role authority limits
(`ArticleVersion.policy`, validated by `knowledge.policy`):

    {"parameters": [{"key": "return_window", "label": "Return window", "type": "days",
                     "value": 30, "authority": {"agent": 15, "supervisor": 60}}, ...]}

A `PolicyException` departs from one parameter of one policy version on one case; a `Citation`
records that an agent gave a customer one article version on one channel (with its timeline event).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from loxodon.core.models import BaseModel


class Audience(models.TextChoices):
    INTERNAL = "internal", "Internal (staff only)"
    PUBLIC = "public", "Public (customers too)"


class Category(BaseModel):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Tag(BaseModel):
    name = models.SlugField(max_length=50, unique=True, help_text="lower-case, e.g. refurbished")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(BaseModel):
    """One answer, whatever its versions. Title, audience, review date: those of `current`."""

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.INTERNAL)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    current = models.ForeignKey(
        "ArticleVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_policy = models.BooleanField(default=False)
    review_by = models.DateField(
        null=True, blank=True, help_text="after this date the answer is flagged as stale"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="who keeps it current",
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["audience", "title"], name="kb_article_audience_title"),
            models.Index(fields=["review_by"], name="kb_article_review_by"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.audience == Audience.PUBLIC and self.archived_at is None

    def is_stale(self, today: object | None = None) -> bool:
        """Past its review date: still served, but flagged so nobody trusts it blindly."""
        if self.review_by is None:
            return False
        return self.review_by < (today or timezone.localdate())  # type: ignore[operator]


class ArticleVersion(BaseModel):
    """One immutable edit: what the article said, who wrote it, and why it changed."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown; `:::phone` … `:::` marks a channel-only section")
    audience = models.CharField(max_length=16, choices=Audience.choices)
    change_note = models.CharField(max_length=300)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    review_by = models.DateField(null=True, blank=True)
    policy = models.JSONField(
        null=True, blank=True, help_text="parameters and authority limits if a policy"
    )

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"


class PolicyException(BaseModel):
    """A departure from one policy parameter on one case, with its reason and approval."""

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted (within the agent's authority)"
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="exceptions")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="policy_exceptions"
    )
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="exceptions")
    version = models.ForeignKey(
        ArticleVersion,
        on_delete=models.PROTECT,
        related_name="exceptions",
        help_text="the policy version this departs from",
    )
    parameter = models.CharField(max_length=64)
    policy_value = models.JSONField(help_text="what the policy version says")
    granted_value = models.JSONField(help_text="what the customer gets")
    excess = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="how far beyond the policy (days, units, extra list items)",
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    site = models.ForeignKey("org.Site", null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=Status.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="kb_exception_status"),
            models.Index(fields=["article", "created_at"], name="kb_exception_article"),
            models.Index(fields=["site", "created_at"], name="kb_exception_site"),
            models.Index(fields=["requested_by", "created_at"], name="kb_exception_agent"),
            models.Index(fields=["case", "created_at"], name="kb_exception_case"),
        ]

    def __str__(self) -> str:
        return f"{self.parameter}: {self.policy_value} → {self.granted_value} ({self.status})"

    @property
    def is_in_force(self) -> bool:
        return self.status in (self.Status.GRANTED, self.Status.APPROVED)


class Citation(BaseModel):
    """An agent gave the customer this article version on this channel (see `event`)."""

    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="citations")
    version = models.ForeignKey(ArticleVersion, on_delete=models.PROTECT, related_name="citations")
    event = models.ForeignKey(
        "timeline.Event", on_delete=models.PROTECT, related_name="+", help_text="what was said"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="citations"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="citations"
    )
    channel = models.CharField(max_length=16)
    cited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    site = models.ForeignKey("org.Site", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["article", "version", "channel"], name="kb_citation_version"),
            models.Index(fields=["created_at"], name="kb_citation_created"),
        ]
