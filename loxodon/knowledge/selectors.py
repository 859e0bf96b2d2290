"""Reads of the knowledge base, with the audience check every caller goes through.

Staff read every article (internal and public); anyone else, the portal and the public API
included, only public, non-archived articles, and only their current version. Nothing outside
this module filters on audience.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from loxodon.core.errors import NotFound
from loxodon.knowledge.models import Article, ArticleVersion, Audience


def is_staff_reader(viewer: Any) -> bool:
    return bool(
        viewer is not None
        and getattr(viewer, "is_authenticated", False)
        and viewer.is_active
        and getattr(viewer, "is_staff_member", False)
    )


def can_edit_knowledge(viewer: Any) -> bool:
    """Supervisors and admins edit; so does anyone granted `knowledge.change_article`."""
    if not is_staff_reader(viewer):
        return False
    return bool(
        viewer.role in ("supervisor", "admin")
        or viewer.is_admin_role
        or viewer.has_perm("knowledge.change_article")
    )


def articles_for(viewer: Any) -> QuerySet[Article]:
    """The articles `viewer` may read (None: the public)."""
    articles = Article.objects.select_related("current", "category")
    if is_staff_reader(viewer):
        return articles
    return articles.filter(audience=Audience.PUBLIC, archived_at__isnull=True)


def get_article_for(viewer: Any, key: str | uuid.UUID) -> Article:
    """One article by id or slug, or NotFound (unknown and not-allowed look the same)."""
    articles = articles_for(viewer)
    try:
        return articles.get(pk=uuid.UUID(str(key)))
    except (ValueError, Article.DoesNotExist):
        pass
    try:
        return articles.get(slug=str(key))
    except Article.DoesNotExist:
        raise NotFound("article not found") from None


def versions_for(viewer: Any, article: Article) -> QuerySet[ArticleVersion]:
    """Version history: staff only (the public sees the current version and nothing else)."""
    if not is_staff_reader(viewer):
        raise NotFound("article not found")
    return article.versions.select_related("author").order_by("-number")


def get_version_for(viewer: Any, article: Article, number: int) -> ArticleVersion:
    if not is_staff_reader(viewer):
        if article.current is None or article.current.number != number:
            raise NotFound("article version not found")
        return article.current
    try:
        return article.versions.select_related("author").get(number=number)
    except ArticleVersion.DoesNotExist:
        raise NotFound(f"{article.title} has no version {number}") from None


def filter_articles(
    articles: QuerySet[Article],
    *,
    category: str = "",
    tag: str = "",
    audience: str = "",
    overdue: bool = False,
    policies: bool = False,
    archived: bool = False,
    today: date | None = None,
) -> QuerySet[Article]:
    """The list filters (category/tag by slug): one definition for the desk list and the API."""
    if not archived:
        articles = articles.filter(archived_at__isnull=True)
    if category:
        articles = articles.filter(category__slug=category)
    if tag:
        articles = articles.filter(tags__name=tag)
    if audience:
        articles = articles.filter(audience=audience)
    if overdue:
        articles = articles.filter(review_by__lt=today or timezone.localdate())
    if policies:
        articles = articles.filter(is_policy=True)
    return articles


def article_counts(articles: QuerySet[Article], today: date | None = None) -> dict[str, int]:
    """How many articles (not archived), overdue for review, policies and archived: one query."""
    live = Q(archived_at__isnull=True)
    return articles.aggregate(
        total=Count("pk", filter=live),
        overdue=Count("pk", filter=live & Q(review_by__lt=today or timezone.localdate())),
        policies=Count("pk", filter=live & Q(is_policy=True)),
        archived=Count("pk", filter=Q(archived_at__isnull=False)),
    )
