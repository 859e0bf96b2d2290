from django.contrib import admin

from loxodon.channels.voice.models import Call, CallStep, VoiceIntegration


@admin.register(VoiceIntegration)
class VoiceIntegrationAdmin(admin.ModelAdmin):
    """The secret is never shown here: it is printed once by `loxodon create_voice_integration`
    (create integrations with that command; here you can rename, move or disable them)."""

    list_display = ("name", "key_id", "site", "active", "created_at")
    list_filter = ("active", "site")
    search_fields = ("name", "key_id")
    fields = ("name", "key_id", "site", "active", "created_at")
    readonly_fields = ("key_id", "created_at")

    def has_add_permission(self, request: object) -> bool:
        return False


class CallStepInline(admin.TabularInline):
    model = CallStep
    fields = ("type", "delivery_id", "occurred_at", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("occurred_at",)


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """Read-only: calls change only through signed deliveries (`services.apply_call_step`)."""

    list_display = ("call_id", "integration", "status", "caller", "customer", "started_at")
    list_filter = ("status", "integration")
    search_fields = ("call_id", "caller")
    inlines = (CallStepInline,)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
