"""The chat socket's moderation frames (``report`` and ``moderate``), turned into moderation actions.

Called by the consumer through ``database_sync_to_async``; the actions re-check who may do what
on every frame, so a facilitator who stepped down an instant ago is refused.
"""

from __future__ import annotations

import asyncio

from chat.protocol import ModerateFrame, NoticeCode, ReportFrame
from groups.models import Group
from supportcircle.accounts.models import User

from . import actions
from .actions import waiting_on_connect

__all__ = ["handle_frame", "waiting_on_connect", "warm_engine"]


def warm_engine(rulesets: tuple[str, ...]) -> None:
    """Build the group's engine (a few seconds the first time in a process) on a worker thread at connect,
    so the first message is not kept waiting, nor the database thread every socket shares."""
    if rulesets in _WARMED:
        return  # built (or being built) already: no hop to a worker thread for each socket
    _WARMED.add(rulesets)
    asyncio.get_running_loop().run_in_executor(None, actions.engine_for, rulesets)


_WARMED: set[tuple[str, ...]] = set()


_DONE = {
    "approve": "Approved: the message is now with the group, and its author has been told.",
    "hide": "Hidden: everyone now sees that it was removed under the agreement you chose.",
    "warn": "Your words reached them privately, with the agreement and an invitation to repair.",
    "time_out": "The pause has started. They can keep reading, and they've been told until when.",
    "remove": "They have been removed from the group, and their chat has closed.",
    "ban": "They have been banned from the group, and their chat has closed.",
    "resolve_report": "The person who reported it has been told the outcome. Thank you.",
    "acknowledge_alert": "Thank you for following up. The alert has left every facilitator's queue.",
    "accept_repair": "Repair accepted. They've been told, and it's in the log.",
}


def handle_frame(user_id: int, group_id: int, frame: ReportFrame | ModerateFrame) -> dict | None:
    """Carry out a report or a facilitator's action; the reply frame for this socket, if any."""
    if isinstance(frame, ReportFrame):
        # The thanks arrives as a `notice` on every one of the reporter's sockets in this group.
        actions.report_message(user_id, group_id, seq=frame.seq, reason=frame.reason, note=frame.note)
        return None
    actor = User.objects.get(pk=user_id)
    group = Group.objects.get(pk=group_id)
    match frame.action:
        case "approve":
            actions.approve_message(actor, group, seq=frame.seq)
        case "hide":
            actions.hide_message(actor, group, seq=frame.seq, agreement_number=frame.agreement, note=frame.note)
        case "warn":
            actions.warn_member(
                actor, group, user_id=frame.member, agreement_number=frame.agreement, note=frame.note, seq=frame.seq
            )
        case "time_out":
            actions.time_out_member(
                actor,
                group,
                user_id=frame.member,
                minutes=frame.minutes,
                agreement_number=frame.agreement,
                note=frame.note,
            )
        case "remove" | "ban":
            actions.remove_from_group(actor, group, user_id=frame.member, note=frame.note, ban=frame.action == "ban")
        case "resolve_report":
            actions.resolve_report(actor, group, report_id=frame.report, outcome=frame.outcome)
        case "acknowledge_alert":
            actions.acknowledge_alert(actor, group, alert_id=frame.alert)
        case "accept_repair":
            actions.accept_repair(actor, group, repair_id=frame.repair)
    return {"type": "notice", "code": NoticeCode.MODERATION_DONE.value, "message": _DONE[frame.action]}
