from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("groups/<slug:slug>/console/", views.console, name="console"),
    path("groups/<slug:slug>/sessions/<int:session_id>/summary/", views.session_summary, name="session_summary"),
    path(
        "groups/<slug:slug>/sessions/<int:session_id>/charts/<str:chart>.svg",
        views.session_chart,
        name="session_chart",
    ),
    path("groups/<slug:slug>/sessions/<int:session_id>/export.<str:fmt>", views.session_export, name="session_export"),
]
