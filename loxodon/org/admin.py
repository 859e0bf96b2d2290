from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from loxodon.org.models import ApiToken, Department, Site, User


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "site", "department")
    list_filter = ("role", "site", "department", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Loxodon", {"fields": ("role", "site", "department")}),
    )


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "time_zone", "country")
    search_fields = ("code", "name")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("digest", "prefix")
