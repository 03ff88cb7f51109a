from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("groups/<slug:slug>/chat/", views.room, name="room"),
    path("groups/<slug:slug>/chat/history/", views.history, name="history"),
]
