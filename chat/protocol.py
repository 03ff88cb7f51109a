"""The group chat protocol: every frame, field, limit, close code and error code.

Pure Python, no Django. ``docs/protocol.md`` is kept in step with this module
by ``tests/chat/test_protocol_doc.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

MAX_FRAME_CHARS = 16_384
MAX_BODY_CHARS = 4_000
MAX_CLIENT_ID_CHARS = 64
HISTORY_ON_CONNECT = 50
BACKFILL_PAGE = 200


class CloseCode(IntEnum):
    """Close codes the server uses; a client must not reconnect after any of them but SERVER_RESTARTING."""

    NOT_LOGGED_IN = 4401
    NOT_A_MEMBER = 4403
    GROUP_NOT_FOUND = 4404
    MEMBERSHIP_ENDED = 4409
    BANNED = 4410
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
}

CLIENT_FRAME_TYPES = ("send", "backfill", "ping")
SERVER_FRAME_TYPES = ("ready", "history", "message", "ack", "error", "pong")


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, *, detail: str = "", ref: str | None = None) -> None:
        super().__init__(code.value)
        self.code = code
        self.detail = detail
        self.ref = ref

    def to_frame(self) -> dict[str, Any]:
        return error_frame(self.code, detail=self.detail, ref=self.ref)


def error_frame(code: ErrorCode, *, detail: str = "", ref: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code.value, "message": ERROR_MESSAGES[code]}
    if detail:
        frame["detail"] = detail
    if ref is not None:
        frame["ref"] = ref
    frame.update(extra)
    return frame


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


ClientFrame = SendFrame | BackfillFrame | PingFrame


def _field(data: dict[str, Any], name: str, kind: type, ref: str | None = None) -> Any:
    if name not in data:
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail=name, ref=ref)
    value = data[name]
    # bool is an int in Python; a sequence number of `true` is not valid.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail=name, ref=ref)
    return value


def _optional(data: dict[str, Any], name: str, kind: type, ref: str | None = None) -> Any:
    if data.get(name) is None:
        return None
    return _field(data, name, kind, ref)


def _parse_send(data: dict[str, Any]) -> SendFrame:
    client_id = _field(data, "client_id", str)
    if not 1 <= len(client_id) <= MAX_CLIENT_ID_CHARS or not client_id.isprintable():
        raise ProtocolError(ErrorCode.INVALID_FIELD, detail="client_id")
    body = _field(data, "body", str, ref=client_id)
    if not body.strip():
        raise ProtocolError(ErrorCode.MISSING_FIELD, detail="body", ref=client_id)
    if len(body) > MAX_BODY_CHARS:
        raise ProtocolError(ErrorCode.TOO_LONG, detail="body", ref=client_id)
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


_PARSERS = {"send": _parse_send, "backfill": _parse_backfill, "ping": _parse_ping}
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
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, detail=frame_type[:40])
    return parser(data)


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
