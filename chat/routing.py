from django.urls import path

from .consumers import GroupChatConsumer

websocket_urlpatterns = [
    path("ws/groups/<slug:slug>/", GroupChatConsumer.as_asgi()),
]
