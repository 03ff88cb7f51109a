from django.contrib import admin

from .models import (
    Agreement,
    AgreementAcceptance,
    BlockedMember,
    CareMessage,
    Group,
    LiveSession,
    Membership,
    MembershipEvent,
    SessionAttendance,
    SessionSchedule,
)


class AgreementInline(admin.TabularInline):
    model = Agreement
    extra = 0


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "topic", "visibility", "join_policy", "capacity", "agreement_version")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("last_seq", "invite_token")
    inlines = [AgreementInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "role", "state", "accepted_version", "updated_at")
    list_filter = ("group", "role", "state")


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "version", "accepted_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MembershipEvent)
class MembershipEventAdmin(admin.ModelAdmin):
    list_display = ("membership", "kind", "from_state", "to_state", "actor", "at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SessionSchedule)
class SessionScheduleAdmin(admin.ModelAdmin):
    list_display = ("group", "weekday", "start_time", "duration_minutes", "timezone")
    list_filter = ("group",)


# Boundaries are shown to staff without their content; private messages are not registered at all,
# so no one but their two people can read them.
@admin.register(BlockedMember)
class BlockedMemberAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# The facilitator console's records (console.live): read-only, like every other record of what happened.
class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttendanceInline(ReadOnlyInline):
    model = SessionAttendance
    fields = ("user", "arrived_at", "left_at")


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ("group", "started_at", "ended_at", "opened_by")
    list_filter = ("group",)
    inlines = [AttendanceInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CareMessage)
class CareMessageAdmin(admin.ModelAdmin):
    # Who checked in on whom, and why; the private words themselves are not shown.
    list_display = ("sent_at", "group", "facilitator", "member", "reason")
    list_filter = ("group",)
    fields = ("sent_at", "group", "facilitator", "member", "reason")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
