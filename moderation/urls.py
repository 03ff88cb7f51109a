from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("groups/<slug:slug>/moderation/", views.queue, name="queue"),
    path("groups/<slug:slug>/moderation/act/", views.act, name="act"),
    path("groups/<slug:slug>/moderation/log/", views.audit_log, name="log"),
    path("groups/<slug:slug>/moderation/policy/", views.policy, name="policy"),
    path("groups/<slug:slug>/repair/", views.repair, name="repair"),
    path("reports/mine/", views.my_reports, name="my_reports"),
    path("support/", views.support_lines, name="support_lines"),
    path(
        "messages/<int:conversation_id>/report/<int:direct_message_id>/",
        views.report_direct_message,
        name="report_direct_message",
    ),
]
