"""The chat socket's facilitator-console frames (``session``, ``lock_joins``, ``breathe``, ``radar``,
``check_in_with``, ``listening``), turned into console.live actions.

Called by the consumer through ``database_sync_to_async``. Every action re-checks on every frame that
its sender is a facilitator of this group (``facilitators_only`` otherwise), except ``listening``, which
any active member may say about themselves.
"""

from __future__ import annotations

from django.utils import timezone

from chat.actions import _facilitator_or_refuse
from chat.protocol import (
    BreatheFrame,
    CheckInWithFrame,
    ConsoleFrame,
    ListeningFrame,
    LockJoinsFrame,
    RadarFrame,
    SessionFrame,
    dumps,
)
from groups.models import Group, Role

from . import live
from .radar_data import group_radar, live_session


def radar_frame(group: Group) -> dict:
    return {
        "type": "radar",
        "members": [entry.to_wire() for entry in group_radar(group)],
        "at": timezone.now().isoformat(),
    }


def handle_frame(user_id: int, group_id: int, frame: ConsoleFrame) -> dict | None:
    """Carry out one console frame; the reply for this socket, if any (the change itself reaches
    everyone through the channel layer after commit)."""
    match frame:
        case SessionFrame(action="open"):
            live.open_session(user_id, group_id)
        case SessionFrame(action="close"):
            live.close_session(user_id, group_id)
        case LockJoinsFrame():
            live.set_joins_locked(user_id, group_id, locked=frame.locked)
        case BreatheFrame():
            live.start_breathing(user_id, group_id, seconds=frame.seconds, prompt=frame.prompt)
        case RadarFrame():
            membership = _facilitator_or_refuse(user_id, group_id)
            return radar_frame(membership.group)
        case CheckInWithFrame():
            return live.send_check_in(
                user_id, group_id, member_id=frame.member, body=frame.message, reason=frame.reason
            )
        case ListeningFrame():
            return live.set_listening_today(user_id, group_id, on=frame.on)
    return None


def on_connect(user_id: int, group_id: int, role: str) -> list[str]:
    """Counted as arrived if a session is live; the frames a socket needs only while something is on:
    the live session, a breathing pause under way, and (for facilitators) the radar."""
    session = live_session(group_id)
    live.note_arrival(user_id, session)
    group = Group.objects.get(pk=group_id)
    now = timezone.now()
    frames = []
    if session is not None or group.joins_locked:
        frames.append({"type": "session", "session": live.session_to_wire(session, group)})
    if group.breathing_seconds_left(now):
        frames.append({"type": "breathe", "breathe": live.breathe_to_wire(group, now)})
    if session is not None and role == Role.FACILITATOR:
        frames.append(radar_frame(group))
    return [dumps(frame) for frame in frames]


def on_disconnect(user_id: int, group_id: int) -> None:
    live.note_departure(user_id, group_id)
