from django.contrib import admin

from .models import AlertCase, EscalationWindow, Page, RotaHours, RotaMember


class RotaHoursInline(admin.TabularInline):
    model = RotaHours
    extra = 1


@admin.register(RotaMember)
class RotaMemberAdmin(admin.ModelAdmin):
    """The rota: each person, their hours in their own time zone, and a deputy."""

    list_display = ("user", "time_zone", "deputy", "is_available", "is_active")
    list_filter = ("is_active", "is_available")
    autocomplete_fields = ("user", "deputy")
    inlines = [RotaHoursInline]


@admin.register(EscalationWindow)
class EscalationWindowAdmin(admin.ModelAdmin):
    list_display = ("group", "live_minutes", "quiet_minutes")
    raw_id_fields = ("group",)


class PageInline(admin.TabularInline):
    model = Page
    extra = 0
    can_delete = False
    readonly_fields = ("user", "step", "paged_at", "emailed_at")


@admin.register(AlertCase)
class AlertCaseAdmin(admin.ModelAdmin):
    list_display = ("raised_at", "group", "state", "step", "acknowledged_by", "acknowledged_at")
    list_filter = ("state", "step")
    readonly_fields = [f.name for f in AlertCase._meta.fields if f.name != "follow_up_note"] + ["follow_up_note"]
    inlines = [PageInline]

    def has_add_permission(self, request) -> bool:
        return False
