"""The room's practices, from the group's own agreements: slow mode, pause, the listening
circle, check-in and gratitude rounds, and who is here now. One function per change.

Each change is atomic, writes a ChatEvent audit row, and tells open sockets after commit.
Enforcement for posting lives in chat.actions.post_message.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from groups.boundaries import BoundarySnapshot
from groups.models import SEATED_STATES, Membership, MembershipState, Role
from supportcircle import realtime
from supportcircle.accounts.models import User
from supportcircle.plain_sql import db_time, table

from . import broadcast
from .actions import (
    facilitator_or_refuse,
    last_read_seq,
    membership_or_deny,
    pinned_messages,
    quote_as_seen,
    record_event,
)
from .errors import ChatRefused
from .models import Presence, RoomState, Round, RoundAnswer, RoundKind
from .protocol import FEELINGS, NEEDS, PRESENCE_TTL_SECONDS, REACTIONS, ROUND_PROMPTS, ErrorCode

if TYPE_CHECKING:
    from .opening import RoomAtConnect

# Room state -------------------------------------------------------------------


def _person(user: User | None) -> dict | None:
    return {"id": user.pk, "pseudonym": user.pseudonym} if user else None


def room_to_wire(room: RoomState) -> dict:
    hands = {user.pk: user for user in User.objects.filter(pk__in=room.raised_hands)} if room.raised_hands else {}
    return {
        "slow_mode_seconds": room.slow_mode_seconds,
        "paused": room.paused,
        "circle": {
            "on": room.circle_on,
            "floor_holder": _person(room.floor_holder) if room.floor_holder_id else None,
            "raised_hands": [_person(hands[user_id]) for user_id in room.raised_hands if user_id in hands],
        },
    }


def _room_for_change(group_id: int) -> RoomState:
    room, _ = RoomState.objects.select_for_update().get_or_create(group_id=group_id)
    return room


def _save_and_tell(room: RoomState, actor_id: int, kind: str, **detail) -> dict:
    room.save()
    record_event(room.group_id, actor_id, kind, **detail)
    wire = room_to_wire(room)
    broadcast.on_commit_room(room.group_id, wire)
    return wire


def change_room_settings(
    user_id: int, group_id: int, *, slow_mode_seconds: int | None = None, paused: bool | None = None
) -> dict:
    """A facilitator turns slow mode (one message per N seconds per member) or the pause on or off;
    every member sees a gentle note saying what changed and why posting is different."""
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        room = _room_for_change(group_id)
        if slow_mode_seconds is not None:
            room.slow_mode_seconds = slow_mode_seconds
        if paused is not None:
            room.paused = paused
        return _save_and_tell(
            room, user_id, "chat.room.settings", slow_mode_seconds=room.slow_mode_seconds, paused=room.paused
        )


def set_listening_circle(user_id: int, group_id: int, *, on: bool) -> dict:
    """A facilitator starts or ends a listening circle. It starts with nobody holding the floor:
    members raise a hand, and the facilitator passes the floor."""
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        room = _room_for_change(group_id)
        room.circle_on = on
        room.floor_holder = None
        room.raised_hands = []
        return _save_and_tell(room, user_id, "chat.circle.started" if on else "chat.circle.ended")


def raise_hand(user_id: int, group_id: int, *, raised: bool) -> dict:
    """A member asks to share next in the listening circle (or lowers their hand); hands queue in order."""
    with transaction.atomic():
        membership = membership_or_deny(user_id, group_id)
        if membership.state != MembershipState.ACTIVE:
            raise ChatRefused(ErrorCode.NOT_ALLOWED)
        room = _room_for_change(group_id)
        if not room.circle_on:
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="circle")
        hands = [hand for hand in room.raised_hands if hand != user_id]
        if raised and room.floor_holder_id != user_id:
            hands.append(user_id)
        room.raised_hands = hands
        return _save_and_tell(room, user_id, "chat.circle.hand_raised" if raised else "chat.circle.hand_lowered")


def pass_floor(user_id: int, group_id: int, *, to: int | None = None) -> dict:
    """The sharer passes the floor on, or a facilitator passes it: to ``to`` or to the first raised hand.
    With no hands raised the floor is open until someone raises one."""
    with transaction.atomic():
        membership = membership_or_deny(user_id, group_id)
        room = _room_for_change(group_id)
        if not room.circle_on:
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="circle")
        if membership.role != Role.FACILITATOR and room.floor_holder_id != user_id:
            raise ChatRefused(ErrorCode.NOT_YOUR_TURN)
        if to is None:
            to = room.raised_hands[0] if room.raised_hands else None
        elif not Membership.objects.filter(user_id=to, group_id=group_id, state=MembershipState.ACTIVE).exists():
            raise ChatRefused(ErrorCode.NOT_FOUND, detail="to")
        room.floor_holder_id = to
        room.raised_hands = [hand for hand in room.raised_hands if hand != to]
        return _save_and_tell(room, user_id, "chat.circle.floor_passed", to=to)


# Rounds -----------------------------------------------------------------------


def _card(answer: RoundAnswer) -> dict:
    return {
        "round_id": answer.round_id,
        "user": _person(answer.user),
        "feelings": answer.feelings,
        "need": answer.need,
        "note": answer.note,
        "gratitude": answer.gratitude,
    }


def summarize(answers: list[RoundAnswer]) -> dict:
    """What a facilitator sees when a round closes: how many answered, and how often each feeling and need came up."""
    feelings = Counter(feeling for answer in answers for feeling in answer.feelings)
    needs = Counter(answer.need for answer in answers if answer.need)
    return {
        "answers": len(answers),
        "feelings": {key: feelings[key] for key in FEELINGS if feelings[key]},
        "needs": {key: needs[key] for key in NEEDS if needs[key]},
    }


def round_to_wire(round_: Round, *, cards: list[dict] | None = None, summary: dict | None = None) -> dict:
    wire = {
        "id": round_.pk,
        "kind": round_.kind,
        "prompts": list(ROUND_PROMPTS[round_.kind]),
        "open": round_.closed_at is None,
        "opened_by": _person(round_.opened_by),
        "cards": cards or [],
    }
    if summary is not None:
        wire["summary"] = summary
    return wire


def open_round(user_id: int, group_id: int, *, kind: str) -> dict:
    """A facilitator opens a check-in or gratitude round; every member sees the prompts and can answer."""
    with transaction.atomic():
        facilitator = facilitator_or_refuse(user_id, group_id)
        if Round.objects.filter(group_id=group_id, closed_at__isnull=True).exists():
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="round")
        try:
            with transaction.atomic():
                round_ = Round.objects.create(group_id=group_id, kind=RoundKind(kind), opened_by=facilitator.user)
        except IntegrityError:
            raise ChatRefused(ErrorCode.NOT_ALLOWED, detail="round") from None
        record_event(group_id, user_id, f"chat.round.{kind}_opened", round_id=round_.pk)
        wire = round_to_wire(round_)
        broadcast.on_commit_round(group_id, {"type": "round", "round": wire}, {"type": "round", "round": wire})
        return wire


def _open_round_or_refuse(group_id: int, round_id: int) -> Round:
    round_ = Round.objects.select_for_update().filter(pk=round_id, group_id=group_id).first()
    if round_ is None or round_.closed_at is not None:
        raise ChatRefused(ErrorCode.NO_OPEN_ROUND)
    return round_


def answer_round(
    user_id: int,
    group_id: int,
    *,
    round_id: int,
    feelings: tuple[str, ...] = (),
    need: str = "",
    note: str = "",
    gratitude: str = "",
) -> dict:
    """A member answers the open round (answering again replaces their card); everyone sees the card."""
    with transaction.atomic():
        membership = membership_or_deny(user_id, group_id)
        if membership.state != MembershipState.ACTIVE:
            raise ChatRefused(ErrorCode.NOT_ALLOWED)
        round_ = _open_round_or_refuse(group_id, round_id)
        if round_.kind == RoundKind.CHECKIN and not feelings:
            raise ChatRefused(ErrorCode.MISSING_FIELD, detail="feelings")
        if round_.kind == RoundKind.GRATITUDE and not gratitude:
            raise ChatRefused(ErrorCode.MISSING_FIELD, detail="gratitude")
        if round_.kind == RoundKind.GRATITUDE:
            feelings, need = (), ""
        answer, _ = RoundAnswer.objects.update_or_create(
            round=round_,
            user_id=user_id,
            defaults={"feelings": list(feelings), "need": need, "note": note, "gratitude": gratitude},
        )
        answer.user = membership.user
        record_event(group_id, user_id, "chat.round.answered", round_id=round_.pk)
        card = _card(answer)
        realtime.on_commit_frame(group_id, {"type": "round_card", "card": card}, about=(user_id,))
        return card


def close_round(user_id: int, group_id: int, *, round_id: int) -> dict:
    """A facilitator closes the round: members see it closed, facilitators get the summary."""
    with transaction.atomic():
        facilitator_or_refuse(user_id, group_id)
        round_ = _open_round_or_refuse(group_id, round_id)
        round_.closed_at = timezone.now()
        round_.save(update_fields=["closed_at"])
        summary = summarize(list(round_.answers.all()))
        record_event(
            group_id, user_id, f"chat.round.{round_.kind}_closed", round_id=round_.pk, answers=summary["answers"]
        )
        broadcast.on_commit_round(
            group_id,
            {"type": "round", "round": round_to_wire(round_)},
            {"type": "round", "round": round_to_wire(round_, summary=summary)},
        )
        return round_to_wire(round_, summary=summary)


def open_round_now(group_id: int) -> dict | None:
    """The open round with its cards so far, for a member who arrives (or comes back) mid-round."""
    round_ = Round.objects.select_related("opened_by").filter(group_id=group_id, closed_at__isnull=True).first()
    if round_ is None:
        return None
    cards = [_card(answer) for answer in round_.answers.select_related("user")]
    return round_to_wire(round_, cards=cards)


# Presence ---------------------------------------------------------------------


def _fresh_since():
    return timezone.now() - timedelta(seconds=PRESENCE_TTL_SECONDS)


def here_now(group_id: int) -> list[dict]:
    """Seated members with at least one live socket in this group, in any server process.
    Read on every arrival and departure, so in one plain query."""
    sql = (
        "SELECT DISTINCT u.id, u.pseudonym, m.role "  # noqa: S608  # nosec B608
        f"FROM {table(Membership)} m JOIN {table(User)} u ON u.id = m.user_id "
        f"JOIN {table(Presence)} p ON p.user_id = m.user_id AND p.group_id = m.group_id "
        f"WHERE m.group_id = %s AND m.state IN (%s, %s) AND p.last_seen >= %s ORDER BY u.pseudonym"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [group_id, *SEATED_STATES, db_time(_fresh_since())])
        rows = cursor.fetchall()
    return [{"id": user_id, "pseudonym": pseudonym, "role": role} for user_id, pseudonym, role in rows]


def arrive(user_id: int, group_id: int, channel_name: str) -> tuple[list[dict], float]:
    """A socket opened: this member is here now; everyone else's "here now" list updates.
    Returns the list for the arriving socket's `ready` frame, and when it was true.

    Two statements, each committed as it runs: the arrival (with the rows of sockets whose process
    died, which expire here), then the list (see :func:`_here_now_after_a_change`)."""
    presence, now = table(Presence), timezone.now()
    arriving = [group_id, user_id, channel_name, db_time(now)]
    # A channel name is made afresh for each socket, and a socket arrives once: always a new row.
    insert = f"INSERT INTO {presence} (group_id, user_id, channel_name, last_seen) VALUES (%s, %s, %s, %s)"  # noqa: S608  # nosec B608
    expire = f"DELETE FROM {presence} WHERE group_id = %s AND last_seen < %s"  # noqa: S608  # nosec B608
    expired = [group_id, db_time(_fresh_since())]
    if connection.vendor == "postgresql":
        # One statement: a data-modifying WITH runs whether or not the statement reads what it returns.
        with connection.cursor() as cursor:
            cursor.execute(f"WITH expired AS ({expire}) {insert}", [*expired, *arriving])
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(expire, expired)
            cursor.execute(insert, arriving)
    here, at = _here_now_after_a_change(group_id)
    broadcast.on_commit_presence(group_id, here, at=at, skip_channel=channel_name)
    return here, at


def depart(group_id: int, channel_name: str) -> None:
    """A socket closed; if it was this member's last one here, they leave the "here now" list."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table(Presence)} WHERE channel_name = %s", [channel_name])  # noqa: S608  # nosec B608
    here, at = _here_now_after_a_change(group_id)
    broadcast.on_commit_presence(group_id, here, at=at)


def _here_now_after_a_change(group_id: int) -> tuple[list[dict], float]:
    """The list after an arrival or departure has committed, and its time, taken before it is read.

    Sockets keep the list with the latest time, so that list must name every change committed before any
    other list's time. Taking the time after our own change has committed and before the list is read
    holds that without locks: a change dated earlier than ours was committed before we dated ours, so our
    read (which starts later) sees it, in any server process. (Read first and dated after, two people
    arriving at once could each miss the other and the later list stay wrong; that once took a lock per
    group and a transaction, four statements more per arrival.) So the change must not run inside an outer
    transaction: the sockets' calls run in autocommit (chat.opening).
    """
    at = timezone.now().timestamp()
    return here_now(group_id), at


def still_here(channel_names) -> int:
    """These sockets are still open: they stay counted as here now (``last_seen``), in one statement per
    thousand of them. How many rows were refreshed."""
    names, now, refreshed = sorted(channel_names), timezone.now(), 0
    for start in range(0, len(names), 1000):
        refreshed += Presence.objects.filter(channel_name__in=names[start : start + 1000]).update(last_seen=now)
    return refreshed


# What a socket learns at connect ----------------------------------------------


def people_seen(people: list[dict], boundaries: BoundarySnapshot) -> list[dict]:
    return [person for person in people if not boundaries.hides(person["id"])]


def room_as_seen(state: dict, boundaries: BoundarySnapshot) -> dict:
    """The room as one member sees it: nobody they blocked (or who blocked them) in the hands queue,
    and the floor holder unnamed if it is such a person (so they still know why they wait)."""
    circle = state["circle"]
    holder = circle["floor_holder"]
    if holder is not None and boundaries.hides(holder["id"]):
        holder = {"id": None, "pseudonym": "Another member"}
    hands = people_seen(circle["raised_hands"], boundaries)
    return {**state, "circle": {**circle, "floor_holder": holder, "raised_hands": hands}}


def room_snapshot(
    user_id: int, group_id: int, boundaries: BoundarySnapshot, *, known: RoomAtConnect | None = None
) -> dict:
    """Everything of the room's current state that the `ready` frame (and the chat page) carries,
    shaped by this member's boundaries. With ``known`` (chat.opening), what it says is absent is not
    read again: most rooms have no room state row, no open round and nothing pinned."""
    room = None
    if known is None or known.has_room_state:
        room = RoomState.objects.select_related("floor_holder").filter(group_id=group_id).first()
    round_ = open_round_now(group_id) if known is None or known.has_open_round else None
    if round_ is not None:
        round_["cards"] = [card for card in round_["cards"] if not boundaries.hides(card["user"]["id"])]
    pinned = [
        boundaries.present(quote_as_seen(wire, boundaries), wire["author"]["id"], wire["content_warning"])
        for wire in (pinned_messages(group_id) if known is None or known.has_pinned else ())
    ]
    return {
        "room": room_as_seen(room_to_wire(room or RoomState(group_id=group_id)), boundaries),
        "round": round_,
        "pinned": [wire for wire in pinned if wire is not None],
        "last_read_seq": last_read_seq(user_id, group_id) if known is None else known.last_read_seq,
        "vocabulary": {"reactions": REACTIONS, "feelings": FEELINGS, "needs": NEEDS},
    }
