"""Django admin: web properties are configured here; visitors and visits are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from loxodon.channels.web.models import WebProperty, WebVisit, WebVisitor


@admin.register(WebProperty)
class WebPropertyAdmin(admin.ModelAdmin):
    list_display = ("name", "public_key", "site", "active")
    list_filter = ("active",)
    search_fields = ("name", "public_key")
    # Generated once; shown so an admin can copy them into the site (the secret goes to the
    # company's server only, never into a page).
    readonly_fields = ("public_key", "identity_secret", "created_at", "updated_at")
    fields = (
        "name",
        "site",
        "allowed_origins",
        "active",
        "public_key",
        "identity_secret",
        "created_at",
        "updated_at",
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebVisitor)
class WebVisitorAdmin(ReadOnlyAdmin):
    list_display = ("visitor_key", "web_property", "customer", "identified_at", "last_seen_at")
    list_filter = ("web_property",)
    list_select_related = ("web_property", "customer")
    raw_id_fields = ("customer",)
    search_fields = ("visitor_key",)


@admin.register(WebVisit)
class WebVisitAdmin(ReadOnlyAdmin):
    list_display = ("id", "visitor", "started_at", "last_hit_at", "hit_count", "event")
    list_select_related = ("visitor", "visitor__web_property")
    raw_id_fields = ("visitor", "event")
    date_hierarchy = "started_at"
