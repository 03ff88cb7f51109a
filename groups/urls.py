from django.urls import path

from . import personal_views, views

app_name = "groups"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("groups/mine/", views.my_groups, name="mine"),
    path("groups/<slug:slug>/", views.detail, name="detail"),
    path("groups/<slug:slug>/join/", views.join, name="join"),
    path("groups/<slug:slug>/invite/<str:token>/", views.invite, name="invite"),
    path("groups/<slug:slug>/leave/", views.leave, name="leave"),
    path("groups/<slug:slug>/pause/", views.take_a_break, {"verb": "pause"}, name="pause"),
    path("groups/<slug:slug>/resume/", views.take_a_break, {"verb": "resume"}, name="resume"),
    path("groups/<slug:slug>/members/", views.members, name="members"),
    path("groups/<slug:slug>/members/<int:membership_id>/<str:verb>/", views.member_action, name="member_action"),
    path("groups/<slug:slug>/agreements/", views.change_agreements, name="change_agreements"),
    path("groups/<slug:slug>/schedule/", views.add_schedule, name="add_schedule"),
    path("groups/<slug:slug>/settings/", views.group_settings, name="settings"),
    path("groups/<slug:slug>/schedule/<int:schedule_id>/remove/", views.remove_schedule, name="remove_schedule"),
    path("settings/boundaries/", personal_views.boundaries, name="boundaries"),
    path("settings/boundaries/<str:verb>/", personal_views.boundary_action, name="boundary_action"),
    path("messages/", personal_views.inbox, name="inbox"),
    path("messages/request/", personal_views.request_conversation, name="request_conversation"),
    path("messages/requests/<int:request_id>/<str:verb>/", personal_views.answer_request, name="answer_request"),
    path("messages/<int:conversation_id>/", personal_views.conversation, name="conversation"),
]
