"""The chat socket's moderation frames (``report``, ``moderate`` and ``withdraw``), turned into moderation actions, and
what a socket is sent as it opens (a facilitator's queue, a member's time-out). Registered with the
chat's one frame registry (chat.extensions) in ModerationConfig.ready.

Run on the sockets' database threads; the actions re-check who may do what on every frame, so a
facilitator who stepped down an instant ago is refused.
"""

from __future__ import annotations

from chat.extensions import connect_facts, exists_in, handled_on_a_database_thread, on_connect
from chat.protocol import ModerateFrame, NoticeCode, ReportFrame, WithdrawFrame, WorriedFrame
from groups.models import Group, Role
from supportcircle.accounts.models import User

from . import actions
from .models import TimeOut
from .queue import waiting_on_connect

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


@handled_on_a_database_thread(ReportFrame)
def report(user_id: int, group_id: int, frame: ReportFrame) -> None:
    """The thanks arrives as a `notice` on every one of the reporter's sockets in this group."""
    actions.report_message(user_id, group_id, seq=frame.seq, reason=frame.reason, note=frame.note)


@handled_on_a_database_thread(WorriedFrame)
def worried(user_id: int, group_id: int, frame: WorriedFrame) -> None:
    """The facilitators get a crisis-first alert; the worried member a `notice` (worry_received) saying
    what they can do meanwhile, on every one of their sockets in this group."""
    actions.raise_worry(user_id, group_id, seq=frame.seq, note=frame.note)


@handled_on_a_database_thread(WithdrawFrame)
def withdraw(user_id: int, group_id: int, frame: WithdrawFrame) -> None:
    """The author's notice arrives on every one of their sockets in this group; the facilitators' queue item leaves."""
    actions.withdraw_held_message(user_id, group_id, seq=frame.seq)


@handled_on_a_database_thread(ModerateFrame)
def moderate(user_id: int, group_id: int, frame: ModerateFrame) -> dict:
    """Carry out a facilitator's action (from the chat or the queue page); the reply for them."""
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


@connect_facts
def time_out_now(user_id: int, now) -> dict:
    """Whether the person connecting is on a time-out in the group, read with the room (chat.opening)."""
    return {"timed_out": exists_in(TimeOut, "user_id = %s AND until > %s", [user_id, now])}


@on_connect
def queue_or_time_out(access, known) -> list[str]:
    """A facilitator's alerts and open queue, crisis first; a member on a time-out, the notice saying until when."""
    if access.role == Role.FACILITATOR or known.extra.get("timed_out"):
        return waiting_on_connect(access.user_id, access.group_id)
    return []
