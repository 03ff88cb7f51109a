"""The group chat socket. Thin: authenticate, validate, call an action, send.

Every rule lives in chat.actions; every frame is described in chat.protocol.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from . import actions
from .broadcast import group_channel, user_channel
from .errors import ChatAccessDenied, ChatRefused
from .protocol import (
    BackfillFrame,
    ErrorCode,
    PingFrame,
    ProtocolError,
    SendFrame,
    dumps,
    error_frame,
    parse_client_frame,
)

log = logging.getLogger(__name__)


def _last_seq_from_query(scope) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("last_seq")
    if not values:
        return None
    try:
        value = int(values[0])
    except ValueError:
        return None
    return value if value >= 0 else None


class GroupChatConsumer(AsyncWebsocketConsumer):
    access: actions.ChatAccess | None = None

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        try:
            self.access = await database_sync_to_async(actions.open_chat)(self.scope["user"], slug)
        except ChatAccessDenied as denied:
            log.info("chat socket refused: %s for group %s", denied.code.name, slug)
            # Accept, then close with the documented code, so the client can tell
            # "you can't be here" from "the network dropped" and not retry.
            await self.accept()
            await self.close(code=int(denied.code))
            return
        # Subscribe before reading history so nothing posted in between is missed;
        # anything in both arrives twice and the client keeps it once (by seq).
        await self.channel_layer.group_add(group_channel(self.access.group_id), self.channel_name)
        await self.channel_layer.group_add(user_channel(self.access.user_id), self.channel_name)
        await self.accept()
        last_seq = _last_seq_from_query(self.scope)
        if last_seq is None:
            history = await database_sync_to_async(actions.recent_history)(self.access.user_id, self.access.group_id)
        else:
            history = await database_sync_to_async(actions.history_after)(
                self.access.user_id, self.access.group_id, last_seq
            )
        await self.send_frame(
            {
                "type": "ready",
                "group": {"slug": self.access.group_slug, "name": self.access.group_name},
                "me": {"id": self.access.user_id, "pseudonym": self.access.pseudonym, "role": self.access.role},
                "can_post": self.access.can_post,
                "latest_seq": history["through_seq"],
            }
        )
        await self.send_frame(history)

    async def disconnect(self, code: int) -> None:
        if self.access is not None:
            await self.channel_layer.group_discard(group_channel(self.access.group_id), self.channel_name)
            await self.channel_layer.group_discard(user_channel(self.access.user_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.access is None:
            return
        try:
            frame = parse_client_frame(text_data, bytes_data)
        except ProtocolError as problem:
            await self.send_frame(problem.to_frame())
            return
        try:
            if isinstance(frame, SendFrame):
                await self.on_send(frame)
            elif isinstance(frame, BackfillFrame):
                await self.on_backfill(frame)
            elif isinstance(frame, PingFrame):
                await self.on_ping()
        except ChatAccessDenied as denied:
            log.info(
                "chat frame refused: %s (user %s, group %s)",
                denied.code.name,
                self.access.user_id,
                self.access.group_id,
            )
            await self.close(code=int(denied.code))
        except DatabaseError:
            log.warning("database unavailable for a %s frame", frame.type, exc_info=True)
            ref = frame.client_id if isinstance(frame, SendFrame) else None
            await self.send_frame(error_frame(ErrorCode.TRY_AGAIN, ref=ref, retry_after=2))

    async def on_send(self, frame: SendFrame) -> None:
        try:
            posted = await database_sync_to_async(actions.post_message)(
                self.access.user_id, self.access.group_id, client_id=frame.client_id, body=frame.body
            )
        except ChatRefused as refused:
            await self.send_frame(error_frame(refused.code, ref=frame.client_id, **refused.extra))
            return
        await self.send_frame(
            {"type": "ack", "client_id": frame.client_id, "duplicate": posted.duplicate, "message": posted.wire}
        )

    async def on_backfill(self, frame: BackfillFrame) -> None:
        history = await database_sync_to_async(actions.history_after)(
            self.access.user_id, self.access.group_id, frame.after_seq
        )
        await self.send_frame(history)

    async def on_ping(self) -> None:
        latest = await database_sync_to_async(actions.latest_seq)(self.access.user_id, self.access.group_id)
        await self.send_frame({"type": "pong", "latest_seq": latest})

    # Channel layer events -------------------------------------------------

    async def chat_message(self, event: dict) -> None:
        await self.send(text_data=event["frame"])

    async def access_revoked(self, event: dict) -> None:
        if event.get("group_id") in (None, self.access.group_id):
            await self.close(code=event["code"])

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=dumps(frame))
