"""Staff can read moderation records in the admin; nobody changes them there (the actions do, with a log entry)."""

from django.contrib import admin

from .models import Alert, AuditEntry, ModerationPolicy, Report


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "group", "kind", "actor", "target", "agreement_number")
    list_filter = ("kind", "group")
    date_hierarchy = "at"


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "group", "reporter", "reason", "state", "resolved_by")
    list_filter = ("state", "reason", "group")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "group", "member", "category", "acknowledged_by", "acknowledged_at")
    list_filter = ("category", "group")


@admin.register(ModerationPolicy)
class ModerationPolicyAdmin(ReadOnlyAdmin):
    list_display = ("group", "updated_at")
