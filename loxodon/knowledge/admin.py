"""Django admin for the knowledge base.

Categories and tags are plain lookup tables and can be edited here. Articles, their versions,
policy exceptions and citations are read-only: every write to them goes through `services`
(a new version with author and change note, an approval, a timeline event), which the desk
(`/desk/kb/`) and the API call.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from loxodon.knowledge.models import (
    Article,
    ArticleVersion,
    Category,
    Citation,
    PolicyException,
    Tag,
)


class ReadOnlyMixin:
    """Viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class VersionInline(ReadOnlyMixin, admin.TabularInline):
    model = ArticleVersion
    fields = ("number", "title", "audience", "author", "change_note", "review_by", "created_at")
    readonly_fields = fields
    ordering = ("-number",)
    extra = 0
    show_change_link = False


@admin.register(Article)
class ArticleAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "audience",
        "category",
        "is_policy",
        "review_by",
        "archived_at",
    )
    list_filter = ("audience", "is_policy", "category", "archived_at")
    search_fields = ("title", "slug")
    list_select_related = ("category",)
    inlines = (VersionInline,)


@admin.register(ArticleVersion)
class ArticleVersionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("article", "number", "author", "change_note", "created_at")
    list_select_related = ("article", "author")
    search_fields = ("title", "article__slug")


@admin.register(PolicyException)
class PolicyExceptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "article",
        "parameter",
        "policy_value",
        "granted_value",
        "status",
        "requested_by",
        "site",
        "created_at",
    )
    list_filter = ("status", "site")
    list_select_related = ("article", "requested_by", "site")


@admin.register(Citation)
class CitationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("article", "version", "channel", "cited_by", "site", "created_at")
    list_filter = ("channel", "site")
    list_select_related = ("article", "version", "cited_by", "site")
