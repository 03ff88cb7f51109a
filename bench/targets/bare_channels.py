"""The B target: the smallest Channels chat there is, on the same daphne.

One consumer: join a group on connect, one group_send per received frame, forward
what arrives. No authentication, no database, no moderation, and channels-redis's
default RedisChannelLayer (BENCH_REDIS_URL) as a fresh project would configure it, but for the pool's
size: redis-py 8 caps a pool at 100 connections, and a connect storm at concurrency 200 then failed
about 100 of B's connects with "Too many connections". B gets the 1,000 P has (REDIS_MAX_CONNECTIONS),
so that the baseline is one that works.
"""

import os

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [
                        {
                            "address": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                            "max_connections": 1000,
                        }
                    ]
                },
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class RoomConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room = "room." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(self.room, {"type": "room.message", "text": text_data})

    async def room_message(self, event):
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/<str:room>/", RoomConsumer.as_asgi())])})
