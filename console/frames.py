"""The chat socket's facilitator-console frames (``session``, ``lock_joins``, ``breathe``, ``radar``,
``check_in_with``, ``listening``), turned into console.live actions, and what a socket is sent as it
opens while a session is live. Registered with the chat's one frame registry (chat.extensions) in
ConsoleConfig.ready; run on the sockets' database threads. Every action re-checks on every frame that
its sender is a facilitator of this group (``facilitators_only`` otherwise), except ``listening``, which
any active member may say about themselves.
"""

from __future__ import annotations

from django.utils import timezone

from chat.actions import facilitator_or_refuse
from chat.extensions import connect_facts, exists_in, handled_on_a_database_thread, on_connect, on_disconnect
from chat.protocol import (
    BreatheFrame,
    CheckInWithFrame,
    ListeningFrame,
    LockJoinsFrame,
    RadarFrame,
    SessionFrame,
    dumps,
)
from groups.models import Group, LiveSession, Role

from . import live
from .radar_data import group_radar, live_session


def radar_frame(group: Group) -> dict:
    return {
        "type": "radar",
        "members": [entry.to_wire() for entry in group_radar(group)],
        "at": timezone.now().isoformat(),
    }


@handled_on_a_database_thread(SessionFrame)
def session(user_id: int, group_id: int, frame: SessionFrame) -> None:
    if frame.action == "open":
        live.open_session(user_id, group_id)
    else:
        live.close_session(user_id, group_id)


@handled_on_a_database_thread(LockJoinsFrame)
def lock_joins(user_id: int, group_id: int, frame: LockJoinsFrame) -> None:
    live.set_joins_locked(user_id, group_id, locked=frame.locked)


@handled_on_a_database_thread(BreatheFrame)
def breathe(user_id: int, group_id: int, frame: BreatheFrame) -> None:
    live.start_breathing(user_id, group_id, seconds=frame.seconds, prompt=frame.prompt)


@handled_on_a_database_thread(RadarFrame)
def show_radar(user_id: int, group_id: int, frame: RadarFrame) -> dict:
    membership = facilitator_or_refuse(user_id, group_id)
    return radar_frame(membership.group)


@handled_on_a_database_thread(CheckInWithFrame)
def check_in_with(user_id: int, group_id: int, frame: CheckInWithFrame) -> dict | None:
    return live.send_check_in(user_id, group_id, member_id=frame.member, body=frame.message, reason=frame.reason)


@handled_on_a_database_thread(ListeningFrame)
def listening(user_id: int, group_id: int, frame: ListeningFrame) -> dict | None:
    return live.set_listening_today(user_id, group_id, on=frame.on)


@connect_facts
def live_session_now(user_id: int, now) -> dict:
    """Whether a session is live in the group, read with the room as a socket opens (chat.opening)."""
    return {"live_session": exists_in(LiveSession, "ended_at IS NULL", [])}


@on_connect
def live_session_frames(access, known) -> list[str]:
    """Counted as arrived if a session is live; the frames a socket needs only while something is on:
    the live session, a breathing pause under way, and (for facilitators) the radar."""
    if not (known.extra.get("live_session") or known.joins_locked or known.breathing):
        return []
    session = live_session(access.group_id)
    live.note_arrival(access.user_id, session)
    group = Group.objects.get(pk=access.group_id)
    now = timezone.now()
    frames = []
    if session is not None or group.joins_locked:
        frames.append({"type": "session", "session": live.session_to_wire(session, group)})
    if group.breathing_seconds_left(now):
        frames.append({"type": "breathe", "breathe": live.breathe_to_wire(group, now)})
    if session is not None and access.role == Role.FACILITATOR:
        frames.append(radar_frame(group))
    return [dumps(frame) for frame in frames]


@on_disconnect
def counted_as_left(user_id: int, group_id: int) -> None:
    live.note_departure(user_id, group_id)
