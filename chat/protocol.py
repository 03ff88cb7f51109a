"""The group chat protocol: every frame, field, limit, close code and error code.

Pure Python, no Django. ``docs/protocol.md`` is kept in step with this module
by ``tests/chat/test_protocol_doc.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from supportcircle.text import storable_text

MAX_FRAME_CHARS = 16_384
MAX_BODY_CHARS = 4_000
MAX_CLIENT_ID_CHARS = 64
HISTORY_ON_CONNECT = 50
BACKFILL_PAGE = 200
# Per member: at most this many messages in this many seconds (chat.limits).
RATE_LIMIT_MESSAGES = 8
RATE_LIMIT_WINDOW_SECONDS = 10
MAX_SLOW_MODE_SECONDS = 600
# A member's typing is broadcast at most once per this many seconds.
TYPING_THROTTLE_SECONDS = 3
# A socket that has not pinged for this long no longer counts as "here now".
PRESENCE_TTL_SECONDS = 70
MAX_NOTE_CHARS = 500
# Frames one socket may have waiting to be handled; each further one is answered try_again at once.
MAX_WAITING_FRAMES = 32
MAX_FEELINGS = 3

# Compassionate reactions only: who reacted is shown, never a count.
REACTIONS: dict[str, str] = {
    "i_hear_you": "I hear you",
    "me_too": "Me too",
    "sending_care": "Sending care",
    "proud_of_you": "Proud of you",
    "thank_you_for_sharing": "Thank you for sharing",
}

# Check-in round: "What am I feeling right now?" (up to MAX_FEELINGS) and "What do I need?" (one).
FEELINGS: dict[str, str] = {
    "calm": "Calm",
    "okay": "Okay",
    "hopeful": "Hopeful",
    "grateful": "Grateful",
    "tender": "Tender",
    "tired": "Tired",
    "anxious": "Anxious",
    "sad": "Sad",
    "lonely": "Lonely",
    "overwhelmed": "Overwhelmed",
    "numb": "Numb",
    "angry": "Angry",
    "ashamed": "Ashamed",
}
NEEDS: dict[str, str] = {
    "to_be_heard": "To be heard",
    "company": "Company",
    "encouragement": "Encouragement",
    "rest": "Rest",
    "quiet": "Quiet",
    "grounding": "Grounding",
    "gentleness": "Gentleness with myself",
    "space": "Some space",
    "hope": "Hope",
    "not_sure": "I'm not sure yet",
}
ROUND_PROMPTS: dict[str, tuple[str, ...]] = {
    "checkin": ("What am I feeling right now?", "What do I need?"),
    "gratitude": ("What is one thing I'm grateful for today?",),
}


class CloseCode(IntEnum):
    """Close codes the server uses; a client must not reconnect after any of them but SERVER_RESTARTING."""

    NOT_LOGGED_IN = 4401
    NOT_A_MEMBER = 4403
    GROUP_NOT_FOUND = 4404
    MEMBERSHIP_ENDED = 4409
    BANNED = 4410
    TOO_MANY_SOCKETS = 4429
    # The socket fell too far behind reading (chat.layers); the client reconnects and backfills.
    TOO_SLOW = 4408
    SERVER_RESTARTING = 4503


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    TOO_LONG = "too_long"
    FRAME_TOO_LARGE = "frame_too_large"
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    AGREEMENTS_CHANGED = "agreements_changed"
    NOT_ALLOWED = "not_allowed"
    TRY_AGAIN = "try_again"
    # Something failed on the server while handling this one frame; nothing of it was kept.
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    SLOW_MODE = "slow_mode"
    ROOM_PAUSED = "room_paused"
    NOT_YOUR_TURN = "not_your_turn"
    NOT_FOUND = "not_found"
    NOT_YOUR_MESSAGE = "not_your_message"
    FACILITATORS_ONLY = "facilitators_only"
    NO_OPEN_ROUND = "no_open_round"
    TAKING_A_BREAK = "taking_a_break"
    BLOCKED_BY_AGREEMENT = "blocked_by_agreement"
    TIMED_OUT = "timed_out"
    BREATHING = "breathing"


# What each error code tells the person. Plain, kind, and says what to do next.
ERROR_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_JSON: "We couldn't read that. Nothing was posted; please try again.",
    ErrorCode.NOT_AN_OBJECT: "We couldn't read that. Nothing was posted; please try again.",
    ErrorCode.UNKNOWN_TYPE: "We don't know that kind of request. Nothing was changed.",
    ErrorCode.MISSING_FIELD: "Something was missing from that request. Nothing was posted.",
    ErrorCode.INVALID_FIELD: "Part of that request wasn't quite right. Nothing was posted.",
    ErrorCode.TOO_LONG: (
        f"That message is longer than one post can hold ({MAX_BODY_CHARS:,} characters). "
        "Your words are still in the box: could you split them into two posts?"
    ),
    ErrorCode.FRAME_TOO_LARGE: "That was too large to send in one go. Nothing was posted.",
    ErrorCode.BINARY_NOT_SUPPORTED: "We can only read text here. Nothing was posted.",
    ErrorCode.AGREEMENTS_CHANGED: (
        "The group's agreements have changed. You can keep reading; to post again, "
        "please read and accept the new version."
    ),
    ErrorCode.NOT_ALLOWED: "You can't do that in this group right now.",
    ErrorCode.TRY_AGAIN: "We couldn't save that just now. Nothing was lost: it will be sent again in a moment.",
    ErrorCode.SERVER_ERROR: (
        "Something went wrong on our side, and that didn't go through. "
        "Your words are still in the box; you can try again, or reload the page if it keeps happening."
    ),
    ErrorCode.RATE_LIMITED: (
        "You're sending messages faster than the group can take them in. Nothing was posted; "
        "your words are still in the box."
    ),
    ErrorCode.SLOW_MODE: (
        "Slow mode is on, so everyone has room to read and breathe. Nothing was posted; "
        "your words are still in the box."
    ),
    ErrorCode.ROOM_PAUSED: (
        "The facilitator has paused the chat for a moment (for example for a grounding exercise). "
        "Your words are still in the box; you can post when the chat opens again."
    ),
    ErrorCode.NOT_YOUR_TURN: (
        "A listening circle is on: one person holds the floor and everyone else listens. "
        "You can react, or raise your hand to share next. Your words are still in the box."
    ),
    ErrorCode.NOT_FOUND: "We couldn't find that message. It may have been removed.",
    ErrorCode.NOT_YOUR_MESSAGE: "Only the person who wrote a message can change or remove it.",
    ErrorCode.FACILITATORS_ONLY: "Only the group's facilitators can do that.",
    ErrorCode.NO_OPEN_ROUND: "That round has closed. Thank you for being here; nothing was lost from the round.",
    ErrorCode.TAKING_A_BREAK: (
        "You're taking a break from this group, so you can read but not post. "
        "Your words are still in the box; you can come back from the group's page whenever you're ready."
    ),
    # Moderation sends these with a message naming the agreement, or the time the pause ends.
    ErrorCode.BLOCKED_BY_AGREEMENT: (
        "This message wasn't posted because of one of the group's agreements. "
        "Your words are still in the box if you'd like to say it another way."
    ),
    ErrorCode.TIMED_OUT: (
        "A facilitator has asked you to pause posting for a little while. "
        "You can keep reading, and your words are still in the box."
    ),
    # Facilitator console (console.live): pause & breathe.
    ErrorCode.BREATHING: (
        "We're taking a moment to breathe together, so posting is resting. "
        "Your words are still in the box; the chat opens again by itself."
    ),
}


class NoticeCode(StrEnum):
    """Why a ``notice`` frame was sent: the person's standing in the group changed while connected."""

    AGREEMENTS_CHANGED = "agreements_changed"
    AGREEMENTS_ACCEPTED = "agreements_accepted"
    TAKING_A_BREAK = "taking_a_break"
    WELCOME_BACK = "welcome_back"
    # Made a facilitator of this group, or no longer one: the socket now hears (or no longer hears) the
    # facilitators' queue and alerts; the page's controls follow once it is reloaded.
    ROLE_CHANGED = "role_changed"
    # Moderation (moderation.actions): the frame's message names the agreement and what to do next.
    HELD_FOR_REVIEW = "held_for_review"
    MESSAGE_APPROVED = "message_approved"
    MESSAGE_HIDDEN = "message_hidden"
    MESSAGE_WITHDRAWN = "message_withdrawn"
    WARNING = "warning"
    TIMED_OUT = "timed_out"
    REPAIR_ACCEPTED = "repair_accepted"
    REPORT_RECEIVED = "report_received"
    REPORT_ANSWERED = "report_answered"
    MODERATION_DONE = "moderation_done"
    WORRY_RECEIVED = "worry_received"
    # Facilitator console (console.live).
    CARE_SENT = "care_sent"
    LISTENING_NOTED = "listening_noted"


NOTICE_MESSAGES: dict[NoticeCode, str] = {
    NoticeCode.AGREEMENTS_CHANGED: (
        "The facilitators have updated the group's agreements. You can keep reading; "
        "to post again, please read and accept the new version."
    ),
    NoticeCode.AGREEMENTS_ACCEPTED: "Thank you for accepting the new agreements. You can post again.",
    NoticeCode.TAKING_A_BREAK: "You're taking a break. You can keep reading whenever you like; take care of yourself.",
    NoticeCode.WELCOME_BACK: "Welcome back. You can post again whenever you're ready.",
    NoticeCode.ROLE_CHANGED: "Your role in this group has changed. Reload the page to see what's new for you.",
    NoticeCode.HELD_FOR_REVIEW: "Your message is waiting for a facilitator to read it. Only you can see it until then.",
    NoticeCode.MESSAGE_APPROVED: "A facilitator read your message and it's now with the group.",
    NoticeCode.MESSAGE_HIDDEN: "A facilitator removed one of your messages under one of the group's agreements.",
    NoticeCode.MESSAGE_WITHDRAWN: "You took your message back before anyone else read it.",
    NoticeCode.WARNING: "A facilitator would like to gently remind you of one of the group's agreements.",
    NoticeCode.TIMED_OUT: "A facilitator has paused your posting for a little while. You can keep reading.",
    NoticeCode.REPAIR_ACCEPTED: "A facilitator accepted your repair. Thank you for coming back to it.",
    NoticeCode.REPORT_RECEIVED: "Thank you for telling us. The facilitators will look at it and let you know.",
    NoticeCode.REPORT_ANSWERED: "The facilitators have answered a message you reported.",
    NoticeCode.MODERATION_DONE: "Done.",
    NoticeCode.WORRY_RECEIVED: "Thank you for looking out for them. The facilitators have been told.",
    NoticeCode.CARE_SENT: "Your check-in reached them privately. Thank you for looking out for them.",
    NoticeCode.LISTENING_NOTED: "Thank you for letting us know. Listening is a welcome way to be here.",
}

# Error codes that carry retry_after: the message then says when the person can post again.
WAIT_CODES = (ErrorCode.RATE_LIMITED, ErrorCode.SLOW_MODE, ErrorCode.BREATHING)

CLIENT_FRAME_TYPES = (
    "send",
    "backfill",
    "ping",
    "edit",
    "delete",
    "pin",
    "react",
    "typing",
    "read",
    "room_settings",
    "circle",
    "raise_hand",
    "pass_floor",
    "round_open",
    "round_answer",
    "round_close",
    "report",
    "moderate",
    "worried",
    "withdraw",
    # Facilitator console (console.frames).
    "session",
    "lock_joins",
    "breathe",
    "radar",
    "check_in_with",
    "listening",
)
SERVER_FRAME_TYPES = (
    "ready",
    "history",
    "message",
    "ack",
    "error",
    "pong",
    "message_updated",
    "reaction",
    "typing",
    "presence",
    "room",
    "round",
    "round_card",
    "notice",
    "nudge",
    "crisis_resources",
    "crisis_alert",
    "queue_item",
    "follow_up",
    "peer_hint",
    "session",
    "breathe",
    "radar",
    "care",
)


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, *, detail: str = "", ref: str | None = None) -> None:
        super().__init__(code.value)
        self.code = code
        self.detail = detail
        self.ref = ref
        # The type of the frame refused, once it is known to be one of ours.
        self.frame: str | None = None

    def to_frame(self) -> dict[str, Any]:
        extra = {"frame": self.frame} if self.frame else {}
        return error_frame(self.code, detail=self.detail, ref=self.ref, **extra)


def error_frame(code: ErrorCode, *, detail: str = "", ref: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code.value, "message": ERROR_MESSAGES[code]}
    if code in WAIT_CODES and extra.get("retry_after"):
        seconds = extra["retry_after"]
        frame["message"] += f" You can post again in {seconds} second{'s' if seconds != 1 else ''}."
    if detail:
        frame["detail"] = detail
    if ref is not None:
        frame["ref"] = ref
    frame.update(extra)
    return frame


def answering(frame: Any) -> dict[str, Any]:
    """The fields an error frame carries to say which frame it answers: its type, and a send's client id."""
    fields: dict[str, Any] = {"frame": frame.type}
    if isinstance(frame, SendFrame):
        fields["ref"] = frame.client_id
    return fields


@dataclass(frozen=True)
class SendFrame:
    client_id: str
    body: str
    # The seq of the message this one replies to, if any.
    reply_to: int | None = None
    # A content-warning label chosen by the author (groups.models.ContentLabel), if any.
    content_warning: str | None = None
    # True when the author has seen a moderation nudge and chooses to post anyway.
    post_anyway: bool = False
    type: str = "send"


@dataclass(frozen=True)
class BackfillFrame:
    after_seq: int
    type: str = "backfill"


@dataclass(frozen=True)
class PingFrame:
    type: str = "ping"


@dataclass(frozen=True)
class EditFrame:
    seq: int
    body: str
    type: str = "edit"


@dataclass(frozen=True)
class DeleteFrame:
    seq: int
    type: str = "delete"


@dataclass(frozen=True)
class PinFrame:
    seq: int
    pinned: bool = True
    type: str = "pin"


@dataclass(frozen=True)
class ReactFrame:
    seq: int
    kind: str
    on: bool = True
    type: str = "react"


@dataclass(frozen=True)
class TypingFrame:
    type: str = "typing"


@dataclass(frozen=True)
class ReadFrame:
    seq: int
    type: str = "read"


@dataclass(frozen=True)
class RoomSettingsFrame:
    # None leaves a setting as it is.
    slow_mode_seconds: int | None = None
    paused: bool | None = None
    type: str = "room_settings"


@dataclass(frozen=True)
class CircleFrame:
    on: bool
    type: str = "circle"


@dataclass(frozen=True)
class RaiseHandFrame:
    raised: bool = True
    type: str = "raise_hand"


@dataclass(frozen=True)
class PassFloorFrame:
    # Who receives the floor; None: the first raised hand.
    to: int | None = None
    type: str = "pass_floor"


@dataclass(frozen=True)
class RoundOpenFrame:
    kind: str
    type: str = "round_open"


@dataclass(frozen=True)
class RoundAnswerFrame:
    round_id: int
    feelings: tuple[str, ...] = ()
    need: str = ""
    note: str = ""
    gratitude: str = ""
    type: str = "round_answer"


@dataclass(frozen=True)
class RoundCloseFrame:
    round_id: int
    type: str = "round_close"


# Why a member may report a message (moderation.models.ReportReason has the labels).
REPORT_REASONS = ("judgment", "advice", "numbers_or_diet", "harassment", "contact", "worried", "other")


@dataclass(frozen=True)
class ReportFrame:
    seq: int
    reason: str
    note: str = ""
    type: str = "report"


@dataclass(frozen=True)
class WorriedFrame:
    """A member is worried about the author of message ``seq`` (moderation: a crisis-first alert)."""

    seq: int
    note: str = ""
    type: str = "worried"


@dataclass(frozen=True)
class WithdrawFrame:
    """The author takes back their own message while it is held for review (to drop it, or to word it again)."""

    seq: int
    type: str = "withdraw"


# What a facilitator can do from the chat, and the fields each needs besides ``action``.
MODERATE_ACTIONS: dict[str, tuple[str, ...]] = {
    "approve": ("seq",),
    "hide": ("seq", "agreement"),
    "warn": ("member", "agreement"),
    "time_out": ("member", "minutes"),
    "remove": ("member",),
    "ban": ("member",),
    "resolve_report": ("report", "outcome"),
    "acknowledge_alert": ("alert",),
    "accept_repair": ("repair",),
}
_MODERATE_NUMBERS = ("seq", "member", "agreement", "minutes", "report", "alert", "repair")


@dataclass(frozen=True)
class ModerateFrame:
    action: str
    seq: int | None = None
    member: int | None = None
    agreement: int | None = None
    minutes: int | None = None
    report: int | None = None
    alert: int | None = None
    repair: int | None = None
    note: str = ""
    outcome: str = ""
    type: str = "moderate"


# Facilitator console: pause & breathe lasts 10 seconds to 5 minutes (0 ends it early).
MIN_BREATHE_SECONDS = 10
MAX_BREATHE_SECONDS = 300
MAX_BREATHE_PROMPT_CHARS = 200
DEFAULT_BREATHE_PROMPT = "Let's breathe together: in for four, hold for four, out for four. Nothing to do but this."
SESSION_ACTIONS = ("open", "close")


@dataclass(frozen=True)
class SessionFrame:
    action: str
    type: str = "session"


@dataclass(frozen=True)
class LockJoinsFrame:
    locked: bool
    type: str = "lock_joins"


@dataclass(frozen=True)
class BreatheFrame:
    seconds: int
    prompt: str = ""
    type: str = "breathe"


@dataclass(frozen=True)
class RadarFrame:
    type: str = "radar"


@dataclass(frozen=True)
class CheckInWithFrame:
    member: int
    message: str
    reason: str = ""
    type: str = "check_in_with"


@dataclass(frozen=True)
class ListeningFrame:
    on: bool = True
    type: str = "listening"


ConsoleFrame = SessionFrame | LockJoinsFrame | BreatheFrame | RadarFrame | CheckInWithFrame | ListeningFrame


ClientFrame = (
    SendFrame
    | BackfillFrame
    | PingFrame
    | EditFrame
    | DeleteFrame
    | PinFrame
    | ReactFrame
    | TypingFrame
    | ReadFrame
    | RoomSettingsFrame
    | CircleFrame
    | RaiseHandFrame
    | PassFloorFrame
    | RoundOpenFrame
    | RoundAnswerFrame
    | RoundCloseFrame
    | ReportFrame
    | ModerateFrame
    | WorriedFrame
    | WithdrawFrame
    | ConsoleFrame
)


# The largest number any frame may carry: sequence numbers are 64-bit in the database, and a larger
# one would fail there instead of being answered as the invalid field it is.
MAX_INT = 2**63 - 1


def _field(data: dict[str, Any], name: str, kind: type, ref: str | None = None) -> Any:
    if name not in data:
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail=name, ref=ref)
    value = data[name]
    # bool is an int in Python; a sequence number of `true` is not valid.
    if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or abs(value) > MAX_INT)):
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail=name, ref=ref)
    if kind is str and not storable_text(value):
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail=name, ref=ref)
    return value


def _optional(data: dict[str, Any], name: str, kind: type, ref: str | None = None) -> Any:
    if data.get(name) is None:
        return None
    return _field(data, name, kind, ref)


def _body(data: dict[str, Any], ref: str | None) -> str:
    body = _field(data, "body", str, ref=ref)
    if not body.strip():
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail="body", ref=ref)
    if len(body) > MAX_BODY_CHARS:
        raise ProtocolError(ErrorCode.TOO_LONG, detail="body", ref=ref)
    return body


def _seq(data: dict[str, Any], name: str = "seq", minimum: int = 1) -> int:
    value = _field(data, name, int)
    if value < minimum:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail=name)
    return value


def _flag(data: dict[str, Any], name: str, default: bool) -> bool:
    value = _optional(data, name, bool)
    return default if value is None else value


def _choice(data: dict[str, Any], name: str, choices: dict[str, str] | tuple[str, ...]) -> str:
    value = _field(data, name, str)
    if value not in choices:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail=name)
    return value


def _short_text(data: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = _field(data, name, str) if required else (_optional(data, name, str) or "")
    if len(value) > MAX_NOTE_CHARS:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail=name)
    if required and not value.strip():
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail=name)
    return value.strip()


def _parse_send(data: dict[str, Any]) -> SendFrame:
    client_id = _field(data, "client_id", str)
    # Printable excludes surrogates and control characters: the id is echoed back as ``ref``.
    if not 1 <= len(client_id) <= MAX_CLIENT_ID_CHARS or not client_id.isprintable():
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="client_id")
    body = _body(data, ref=client_id)
    reply_to = _optional(data, "reply_to", int, ref=client_id)
    if reply_to is not None and reply_to < 1:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="reply_to", ref=client_id)
    content_warning = _optional(data, "content_warning", str, ref=client_id) or None
    if content_warning is not None and len(content_warning) > 32:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="content_warning", ref=client_id)
    post_anyway = _optional(data, "post_anyway", bool, ref=client_id) or False
    return SendFrame(
        client_id=client_id,
        body=body,
        reply_to=reply_to,
        content_warning=content_warning,
        post_anyway=post_anyway,
    )


def _parse_backfill(data: dict[str, Any]) -> BackfillFrame:
    after_seq = _field(data, "after_seq", int)
    if after_seq < 0:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="after_seq")
    return BackfillFrame(after_seq=after_seq)


def _parse_ping(data: dict[str, Any]) -> PingFrame:
    return PingFrame()


def _parse_room_settings(data: dict[str, Any]) -> RoomSettingsFrame:
    seconds = _optional(data, "slow_mode_seconds", int)
    if seconds is not None and not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="slow_mode_seconds")
    paused = _optional(data, "paused", bool)
    if seconds is None and paused is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail="slow_mode_seconds")
    return RoomSettingsFrame(slow_mode_seconds=seconds, paused=paused)


def _parse_pass_floor(data: dict[str, Any]) -> PassFloorFrame:
    to = _optional(data, "to", int)
    if to is not None and to < 1:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="to")
    return PassFloorFrame(to=to)


def _parse_round_answer(data: dict[str, Any]) -> RoundAnswerFrame:
    round_id = _seq(data, "round_id")
    feelings = _optional(data, "feelings", list) or []
    known = all(isinstance(f, str) and f in FEELINGS for f in feelings)
    if not known or len(feelings) > MAX_FEELINGS or len(set(feelings)) != len(feelings):
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="feelings")
    need = _optional(data, "need", str) or ""
    if need and need not in NEEDS:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="need")
    return RoundAnswerFrame(
        round_id=round_id,
        feelings=tuple(feelings),
        need=need,
        note=_short_text(data, "note"),
        gratitude=_short_text(data, "gratitude"),
    )


def _parse_report(data: dict[str, Any]) -> ReportFrame:
    return ReportFrame(seq=_seq(data), reason=_choice(data, "reason", REPORT_REASONS), note=_short_text(data, "note"))


def _parse_moderate(data: dict[str, Any]) -> ModerateFrame:
    action = _choice(data, "action", MODERATE_ACTIONS)
    numbers = {}
    for name in _MODERATE_NUMBERS:
        if name in MODERATE_ACTIONS[action]:
            numbers[name] = _seq(data, name)
        elif data.get(name) is not None:
            numbers[name] = _seq(data, name)
    return ModerateFrame(
        action=action,
        note=_short_text(data, "note"),
        outcome=_short_text(data, "outcome", required="outcome" in MODERATE_ACTIONS[action]),
        **numbers,
    )


def _parse_breathe(data: dict[str, Any]) -> BreatheFrame:
    seconds = _field(data, "seconds", int)
    if seconds != 0 and not MIN_BREATHE_SECONDS <= seconds <= MAX_BREATHE_SECONDS:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="seconds")
    prompt = _optional(data, "prompt", str) or ""
    if len(prompt) > MAX_BREATHE_PROMPT_CHARS:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="prompt")
    return BreatheFrame(seconds=seconds, prompt=prompt.strip())


def _parse_check_in_with(data: dict[str, Any]) -> CheckInWithFrame:
    reason = _optional(data, "reason", str) or ""
    if len(reason) > 40:
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="reason")
    message = _short_text(data, "message", required=True)
    return CheckInWithFrame(member=_seq(data, "member"), message=message, reason=reason)


_PARSERS = {
    "send": _parse_send,
    "backfill": _parse_backfill,
    "ping": _parse_ping,
    "edit": lambda d: EditFrame(seq=_seq(d), body=_body(d, ref=None)),
    "delete": lambda d: DeleteFrame(seq=_seq(d)),
    "pin": lambda d: PinFrame(seq=_seq(d), pinned=_flag(d, "pinned", True)),
    "react": lambda d: ReactFrame(seq=_seq(d), kind=_choice(d, "kind", REACTIONS), on=_flag(d, "on", True)),
    "typing": lambda d: TypingFrame(),
    "read": lambda d: ReadFrame(seq=_seq(d, minimum=0)),
    "room_settings": _parse_room_settings,
    "circle": lambda d: CircleFrame(on=_field(d, "on", bool)),
    "raise_hand": lambda d: RaiseHandFrame(raised=_flag(d, "raised", True)),
    "pass_floor": _parse_pass_floor,
    "round_open": lambda d: RoundOpenFrame(kind=_choice(d, "kind", ROUND_PROMPTS)),
    "round_answer": _parse_round_answer,
    "round_close": lambda d: RoundCloseFrame(round_id=_seq(d, "round_id")),
    "report": _parse_report,
    "moderate": _parse_moderate,
    "worried": lambda d: WorriedFrame(seq=_seq(d), note=_short_text(d, "note")),
    "withdraw": lambda d: WithdrawFrame(seq=_seq(d)),
    "session": lambda d: SessionFrame(action=_choice(d, "action", SESSION_ACTIONS)),
    "lock_joins": lambda d: LockJoinsFrame(locked=_field(d, "locked", bool)),
    "breathe": _parse_breathe,
    "radar": lambda d: RadarFrame(),
    "check_in_with": _parse_check_in_with,
    "listening": lambda d: ListeningFrame(on=_flag(d, "on", True)),
}
assert tuple(_PARSERS) == CLIENT_FRAME_TYPES


def parse_client_frame(text: str | None, data_bytes: bytes | None = None) -> ClientFrame:
    """Validate one inbound WebSocket frame, or raise ProtocolError saying what is wrong."""
    if text is None:
        raise ProtocolError(ErrorCode.BINARY_NOT_SUPPORTED)
    if len(text) > MAX_FRAME_CHARS:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.BAD_JSON) from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.NOT_AN_OBJECT)
    frame_type = data.get("type")
    if not isinstance(frame_type, str):
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail="type")
    parser = _PARSERS.get(frame_type)
    if parser is None:
        # Never echoed: an error frame carries only what the server wrote or already validated.
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, detail="type")
    try:
        return parser(data)
    except ProtocolError as problem:
        problem.frame = frame_type
        raise


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
