"""How apps above the chat take part in it, without the chat importing them.

The chat sits below moderation and the console; they plug in here from their AppConfig.ready:

- **frames**: one registry of every client frame type's handler (:func:`handles`, and
  :func:`handled_on_a_database_thread` for a plain function that answers with a frame). The chat
  registers its own; moderation (``report``, ``moderate``) and the console register theirs.
- **the send review**: the one :class:`Reviewer` that decides what becomes of a message before it is
  stored (moderation's, moderation/review.py). Without one, everything is posted as written.
- **after a message posted**: what runs once a message's transaction has committed (moderation's
  second opinion, which must never delay delivery: a hook only hands the message on).
- **on connect / on disconnect**: what a new socket is sent first (a facilitator's queue, a time-out
  notice, a live session) and what a closing one leaves behind (attendance).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportcircle.plain_sql import db_time, table

from .models import MessageState

# --- Frames ---------------------------------------------------------------------------------------

# Each client frame class (chat.protocol), and the coroutine that handles it: handler(consumer, frame).
FRAME_HANDLERS: dict[type, Callable[[Any, Any], Awaitable[None]]] = {}


def handles(*frame_classes: type):
    """Register an async handler ``(consumer, frame)`` for these frame classes (each once)."""

    def register(handler):
        for frame_class in frame_classes:
            if frame_class in FRAME_HANDLERS:
                raise RuntimeError(f"{frame_class.__name__} already has a handler")
            FRAME_HANDLERS[frame_class] = handler
        return handler

    return register


def handled_on_a_database_thread(*frame_classes: type):
    """Register a plain function ``(user_id, group_id, frame) -> reply frame | None`` for these frame
    classes: the consumer runs it on the sockets' database threads, sends the reply if any, and sends a
    ``ChatRefused`` it raises as the documented error frame."""

    def register(function):
        async def handler(consumer, frame) -> None:
            await consumer.delegate(function, frame)

        handles(*frame_classes)(handler)
        return function

    return register


# --- The send review ------------------------------------------------------------------------------


@dataclass
class Review:
    """What becomes of one outgoing message (moderation's ``Decision`` has these, and more)."""

    # The private frame the author gets instead of an ack (a nudge or a block): nothing is stored.
    withheld: dict | None = None
    # How the message is stored: held for review, or collapsed behind this content warning.
    state: str = MessageState.VISIBLE
    content_warning: str = ""
    categories: tuple[str, ...] = field(default_factory=tuple)

    @property
    def broadcasts(self) -> bool:
        return self.state != MessageState.HELD

    @property
    def has_consequences(self) -> bool:
        """Whether storing the message writes more than the message (then it is one transaction)."""
        return False


class Reviewer:
    """The chat's own reviewer: every message is posted as written, nothing else is recorded."""

    def seat_columns(self, now) -> dict[str, Any]:
        """Values the reviewer needs on the author's seat, read in the same statement (chat.seat.SeatColumn,
        by the attribute name each gets on the seat)."""
        return {}

    def is_crisis(self, group, body: str) -> bool:
        """Crisis language is never told to wait: pauses, circles, slow mode and the rate limit give way."""
        return False

    def review(
        self, seat, body: str, *, client_id: str, reply_to, post_anyway: bool, content_warning, tentative=False
    ) -> Review:
        """``tentative``: decided on a seat kept from the author's last send; a message kept back is decided
        again on a fresh read, so nothing is recorded for it now."""
        return Review()

    def review_edit(self, seat, message, body: str) -> Review:
        return Review()

    def record(self, review: Review, message, seat) -> None:
        """After the message is stored, in the same transaction when ``review.has_consequences``."""

    def warm(self, rulesets: tuple[str, ...]) -> None:
        """A socket opened in a group with these rule sets: get ready for its first message."""


_reviewer = Reviewer()


def reviewer() -> Reviewer:
    return _reviewer


def set_reviewer(chosen: Reviewer) -> None:
    global _reviewer
    _reviewer = chosen


# --- After a message posted ----------------------------------------------------------------------

# Each is called once a stored (or edited) message's transaction has committed: hook(message, seat, review),
# where ``seat`` is the author's Membership (with its group) and ``review`` what the reviewer decided.
# Called on the thread that posted, after the commit and before the ack: a hook must only hand the
# message on (a queue, a thread) and return at once; it must never raise.
POSTED_HOOKS: list[Callable[[Any, Any, Review], None]] = []


def after_posted(hook):
    POSTED_HOOKS.append(hook)
    return hook


# --- On connect and disconnect --------------------------------------------------------------------

# Each is called on a database thread as a socket opens: provider(access, known) -> serialized frames,
# where ``access`` is chat.actions.ChatAccess and ``known`` the room's chat.opening.RoomAtConnect.
CONNECT_PROVIDERS: list[Callable[[Any, Any], list[str]]] = []
# Each is called as a socket closes: hook(user_id, group_id).
DISCONNECT_HOOKS: list[Callable[[int, int], None]] = []
# Named yes-or-no facts about the group a socket opens in, which the providers read from ``known.extra``:
# contributor(user_id, now) -> {name: (sql, params)}, each made with :func:`exists_in`. One plain query
# answers them all with the room (chat.opening.room_at_connect).
CONNECT_FACTS: list[Callable[[int, Any], dict[str, tuple[str, list]]]] = []


def on_connect(provider):
    CONNECT_PROVIDERS.append(provider)
    return provider


def on_disconnect(hook):
    DISCONNECT_HOOKS.append(hook)
    return hook


def connect_facts(contributor):
    CONNECT_FACTS.append(contributor)
    return contributor


def exists_in(model, where: str, params: list) -> tuple[str, list]:
    """A connect fact: whether ``model`` has a row for the opening socket's group (its ``group_id``) that
    matches ``where`` (plain SQL with %s placeholders for ``params``; datetimes are passed as the ORM
    would pass them). Plain SQL because every socket asks: built with the ORM, the one query that
    answers all the facts cost twenty times its own run to compile."""
    values = [db_time(value) if isinstance(value, datetime) else value for value in params]
    return f"EXISTS (SELECT 1 FROM {table(model)} WHERE group_id = g.id AND {where})", values  # noqa: S608  # nosec B608
