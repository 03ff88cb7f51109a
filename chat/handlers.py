"""The conversation and room-practice frames of GroupChatConsumer, kept apart so the consumer stays short.

Each handler calls one action (chat.actions or chat.room) off the event loop and
answers only with documented frames; the change itself reaches everyone,
the sender included, through the channel layer after commit.
"""

from __future__ import annotations

import time

from groups.models import Role
from supportcircle.db_threads import db

from . import actions, broadcast, room
from .extensions import handles
from .protocol import (
    TYPING_THROTTLE_SECONDS,
    CircleFrame,
    DeleteFrame,
    EditFrame,
    PassFloorFrame,
    PinFrame,
    RaiseHandFrame,
    ReactFrame,
    ReadFrame,
    RoomSettingsFrame,
    RoundAnswerFrame,
    RoundCloseFrame,
    RoundOpenFrame,
    TypingFrame,
)

call = db


class ConversationHandlers:
    """Mixed into GroupChatConsumer: expects ``self.access``, ``self.boundaries`` and ``self.send_frame``."""

    typed_at: float = 0.0
    # When the "here now" list this socket last sent was read (see broadcast.on_commit_presence).
    presence_at: float = 0.0
    # The list as last sent: an unchanged list (say, a blocked person arrived) is not sent again.
    presence_seen: list | None = None
    arrived = False

    def hides(self, user_id: int | None) -> bool:
        return self.boundaries.hides(user_id)

    # At connect and disconnect ---------------------------------------------

    def people_seen(self, people: list[dict]) -> list[dict]:
        return room.people_seen(people, self.boundaries)

    async def depart(self) -> None:
        if self.arrived:
            self.arrived = False
            await call(room.depart)(self.access.group_id, self.channel_name)

    # Client frames -----------------------------------------------------------

    @handles(EditFrame)
    async def on_edit(self, frame: EditFrame) -> None:
        await call(actions.edit_message)(self.access.user_id, self.access.group_id, seq=frame.seq, body=frame.body)

    @handles(DeleteFrame)
    async def on_delete(self, frame: DeleteFrame) -> None:
        await call(actions.delete_message)(self.access.user_id, self.access.group_id, seq=frame.seq)

    @handles(PinFrame)
    async def on_pin(self, frame: PinFrame) -> None:
        await call(actions.pin_message)(self.access.user_id, self.access.group_id, seq=frame.seq, pinned=frame.pinned)

    @handles(ReactFrame)
    async def on_react(self, frame: ReactFrame) -> None:
        await call(actions.react_to_message)(
            self.access.user_id, self.access.group_id, seq=frame.seq, kind=frame.kind, on=frame.on
        )

    @handles(TypingFrame)
    async def on_typing(self, frame: TypingFrame) -> None:
        # Throttled before any work: at most one notice (and one authorization query) per few seconds.
        now = time.monotonic()
        if now - self.typed_at < TYPING_THROTTLE_SECONDS:
            return
        self.typed_at = now
        pseudonym = await call(actions.may_type)(self.access.user_id, self.access.group_id)
        await broadcast.typing_now(self.access.group_id, self.access.user_id, pseudonym)

    @handles(ReadFrame)
    async def on_read(self, frame: ReadFrame) -> None:
        await call(actions.mark_read)(self.access.user_id, self.access.group_id, seq=frame.seq)

    @handles(RoomSettingsFrame)
    async def on_room_settings(self, frame: RoomSettingsFrame) -> None:
        await call(room.change_room_settings)(
            self.access.user_id,
            self.access.group_id,
            slow_mode_seconds=frame.slow_mode_seconds,
            paused=frame.paused,
        )

    @handles(CircleFrame)
    async def on_circle(self, frame: CircleFrame) -> None:
        await call(room.set_listening_circle)(self.access.user_id, self.access.group_id, on=frame.on)

    @handles(RaiseHandFrame)
    async def on_raise_hand(self, frame: RaiseHandFrame) -> None:
        await call(room.raise_hand)(self.access.user_id, self.access.group_id, raised=frame.raised)

    @handles(PassFloorFrame)
    async def on_pass_floor(self, frame: PassFloorFrame) -> None:
        await call(room.pass_floor)(self.access.user_id, self.access.group_id, to=frame.to)

    @handles(RoundOpenFrame)
    async def on_round_open(self, frame: RoundOpenFrame) -> None:
        await call(room.open_round)(self.access.user_id, self.access.group_id, kind=frame.kind)

    @handles(RoundAnswerFrame)
    async def on_round_answer(self, frame: RoundAnswerFrame) -> None:
        await call(room.answer_round)(
            self.access.user_id,
            self.access.group_id,
            round_id=frame.round_id,
            feelings=frame.feelings,
            need=frame.need,
            note=frame.note,
            gratitude=frame.gratitude,
        )

    @handles(RoundCloseFrame)
    async def on_round_close(self, frame: RoundCloseFrame) -> None:
        await call(room.close_round)(self.access.user_id, self.access.group_id, round_id=frame.round_id)

    # Channel layer events ------------------------------------------------------

    async def chat_frame(self, event: dict) -> None:
        """Reactions, round cards and typing: skipped if they are about someone this member does not see."""
        about = event.get("about", [])
        if not event.get("echo", True) and about and about[0] == self.access.user_id:
            return
        if any(self.hides(user_id) for user_id in about):
            return
        await self.send(text_data=event["frame"])

    async def chat_room(self, event: dict) -> None:
        await self.send_frame({"type": "room", "room": room.room_as_seen(event["room"], self.boundaries)})

    async def chat_presence(self, event: dict) -> None:
        if event.get("skip_channel") == self.channel_name or event["at"] <= self.presence_at:
            return
        self.presence_at = event["at"]
        if not self.boundaries.hidden_user_ids:
            # Nobody to leave out: the list and its frame as everyone gets them (serialized once).
            if event["here"] != self.presence_seen:
                self.presence_seen = event["here"]
                await self.send(text_data=event["frame"])
            return
        here = self.people_seen(event["here"])
        if here != self.presence_seen:
            self.presence_seen = here
            await self.send_frame({"type": "presence", "here": here})

    async def chat_round(self, event: dict) -> None:
        facilitator = self.access.role == Role.FACILITATOR
        await self.send(text_data=event["facilitator_frame"] if facilitator else event["frame"])
