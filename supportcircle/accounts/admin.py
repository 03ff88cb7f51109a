from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("pseudonym",)
    list_display = ("pseudonym", "is_active", "is_staff", "date_joined")
    search_fields = ("pseudonym",)
    fieldsets = (
        (None, {"fields": ("pseudonym", "password")}),
        ("Profile", {"fields": ("email", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("pseudonym", "password1", "password2")}),)
