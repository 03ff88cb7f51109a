from django.contrib import admin

from .models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("group", "seq", "author", "state", "created_at")
    list_filter = ("group", "state")
    readonly_fields = ("group", "seq", "author", "client_id", "body", "created_at")
