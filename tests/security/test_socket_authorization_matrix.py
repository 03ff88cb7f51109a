"""Who may do what on the chat socket: every client frame type in chat.protocol, for each kind of visitor.

Visitors who may not be in the group never get a socket (the close code says why);
for those who may, each frame type's outcome is an explicit table. A frame type
without a row fails the suite.
"""

import json
import logging

import pytest
from channels.db import database_sync_to_async

import supportcircle.asgi  # noqa: F401  (Django's setup reconfigures logging; do it before capturing)
from chat.actions import post_message
from chat.protocol import CLIENT_FRAME_TYPES, CloseCode
from tests.conftest import connected, socket_for
from tests.security.roles import ROLES, people_in_roles
from tests.support.waiting import FRAME_PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)

AT_CONNECT = {
    "anonymous": CloseCode.NOT_LOGGED_IN,
    "outsider": CloseCode.NOT_A_MEMBER,
    "requested": CloseCode.NOT_A_MEMBER,
    "member": "ready",
    "paused": "ready",
    "removed": CloseCode.MEMBERSHIP_ENDED,
    "banned": CloseCode.BANNED,
    "other_facilitator": CloseCode.NOT_A_MEMBER,
    "facilitator": "ready",
    "staff": CloseCode.NOT_A_MEMBER,  # site staff are not in every group's conversation
}
SEATED = [role for role, outcome in AT_CONNECT.items() if outcome == "ready"]


def sample(frame_type: str, people: dict) -> dict:
    """A well-formed frame of each type, about message 1 (written by Alex)."""
    return {
        "send": {"client_id": "matrix-1", "body": "Hello, everyone."},
        "backfill": {"after_seq": 0},
        "ping": {},
        "edit": {"seq": 1, "body": "Changed words."},
        "delete": {"seq": 1},
        "pin": {"seq": 1},
        "react": {"seq": 1, "kind": "i_hear_you"},
        "typing": {},
        "read": {"seq": 1},
        "room_settings": {"slow_mode_seconds": 0},
        "circle": {"on": False},
        "raise_hand": {"raised": True},
        "pass_floor": {},
        "round_open": {"kind": "gratitude"},
        "round_answer": {"round_id": 999, "gratitude": "The sun today."},
        "round_close": {"round_id": 999},
        "report": {"seq": 1, "reason": "other"},
        "moderate": {"action": "approve", "seq": 1},
        "session": {"action": "close"},
        "lock_joins": {"locked": False},
        "breathe": {"seconds": 0},
        "radar": {},
        "check_in_with": {"member": people["member"].pk, "message": "Thinking of you."},
        "listening": {"on": True},
        "withdraw": {"seq": 1},
        "worried": {"seq": 1},
    }[frame_type] | {"type": frame_type}


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(SEATED, outcome)


FACILITATORS_ONLY = {"member": "facilitators_only", "paused": "facilitators_only", "facilitator": "ok"}


def row(member: str, paused: str, facilitator: str) -> dict[str, str]:
    return {"member": member, "paused": paused, "facilitator": facilitator}


# Frames that act on others or on the room (about message 1, by Alex; no circle or round open).
EXPECTED: dict[str, dict[str, str]] = {
    "send": row("ok", "taking_a_break", "ok"),
    "backfill": everyone("ok"),  # reading stays open on a break
    "ping": everyone("ok"),
    "edit": row("not_your_message", "not_allowed", "not_your_message"),  # nobody rewords someone else
    "delete": row("not_your_message", "not_allowed", "not_your_message"),
    "pin": FACILITATORS_ONLY,
    "react": row("ok", "not_allowed", "ok"),
    "typing": row("ok", "not_allowed", "ok"),
    "read": everyone("ok"),
    "room_settings": FACILITATORS_ONLY,
    "circle": FACILITATORS_ONLY,
    "raise_hand": everyone("not_allowed"),  # no circle is on
    "pass_floor": everyone("not_allowed"),
    "round_open": FACILITATORS_ONLY,
    "round_answer": row("no_open_round", "not_allowed", "no_open_round"),
    "round_close": row("facilitators_only", "facilitators_only", "no_open_round"),
    "report": everyone("ok"),  # anyone who can read can ask for help with a message
    "moderate": row("facilitators_only", "facilitators_only", "not_found"),  # nothing is held for review
    "session": row("facilitators_only", "facilitators_only", "not_allowed"),  # no session is open to close
    "lock_joins": FACILITATORS_ONLY,
    "breathe": FACILITATORS_ONLY,
    "radar": FACILITATORS_ONLY,
    "check_in_with": FACILITATORS_ONLY,
    "listening": row("ok", "not_allowed", "ok"),
    "withdraw": everyone("not_found"),  # only the author's own held message can be taken back; this is neither
    "worried": everyone("ok"),  # anyone who can read may tell the facilitators they're worried, on a break too
}


async def outcome_of(socket, frame: dict) -> str:
    """The first error code the frame got, "ok" if none, or "closed <code>"."""
    await socket.send(frame)
    await socket.send({"type": "ping"})
    while True:
        output = await socket.communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return f"closed {output.get('code')}"
        reply = json.loads(output["text"])
        if reply["type"] == "error":
            while (json.loads((await socket.communicator.receive_output(timeout=5))["text"]))["type"] != "pong":
                pass
            return reply["code"]
        if reply["type"] == "pong":
            return "ok"


def test_every_client_frame_type_has_a_row():
    missing = [frame_type for frame_type in CLIENT_FRAME_TYPES if frame_type not in EXPECTED]
    assert missing == [], f"Decide who may send these frames and add rows to EXPECTED: {missing}"


async def test_who_may_open_the_socket(channel_layer, group, member, facilitator, outsider):
    people = await database_sync_to_async(people_in_roles)(group, member, facilitator, outsider)
    actual = {}
    for role in ROLES:
        communicator = await database_sync_to_async(socket_for)(people[role], group.slug)
        await communicator.connect()
        output = await communicator.receive_output(timeout=FRAME_PATIENCE)
        actual[role] = output.get("code") if output["type"] == "websocket.close" else "ready"
        await communicator.disconnect()
    assert actual == AT_CONNECT


async def test_what_each_seated_visitor_may_do(group, member, second_member, facilitator, outsider, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    people = await database_sync_to_async(people_in_roles)(group, member, facilitator, outsider)
    await database_sync_to_async(post_message)(second_member.pk, group.pk, client_id="alex-1", body="A first word.")
    differences = {}
    for frame_type in CLIENT_FRAME_TYPES:
        for role in SEATED:
            async with connected(people[role], group.slug) as socket:
                actual = await outcome_of(socket, sample(frame_type, people))
            expected = EXPECTED.get(frame_type, {}).get(role)
            if actual != expected:
                differences[f"{frame_type} as {role}"] = f"{actual} (expected {expected})"
    assert differences == {}


async def test_a_refused_socket_is_logged_with_who_and_why(channel_layer, group, outsider, caplog):
    caplog.set_level(logging.INFO)
    communicator = await database_sync_to_async(socket_for)(outsider, group.slug)
    await communicator.connect()
    assert (await communicator.receive_output(timeout=FRAME_PATIENCE))["code"] == CloseCode.NOT_A_MEMBER
    await communicator.disconnect()
    assert any("refused: NOT_A_MEMBER" in record.getMessage() for record in caplog.records)
