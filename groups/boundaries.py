"""Each member's personal boundaries, as the chat server applies them per recipient.

``BoundarySnapshot`` is pure: the consumer loads one at connect (a constant number
of queries: one), keeps it for the life of the socket, and reloads it when a
``boundaries.changed`` event arrives. History and backfill use the same snapshot,
so what someone chose not to see never reaches their screen by any path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection

from .models import BlockedMember, BoundarySettings, MutedMember


class CollapseReason:
    MUTED = "muted"
    CONTENT_WARNING = "content_warning"


# Most people block, mute and fold nothing: their snapshots share this one empty set (each empty
# frozenset is 216 bytes of its own, and every open socket keeps a snapshot).
NOTHING: frozenset = frozenset()


@dataclass(frozen=True, slots=True)
class BoundarySnapshot:
    user_id: int
    # Blocked in either direction: their messages, reactions and presence never reach me, nor mine them.
    hidden_user_ids: frozenset[int] = NOTHING
    # Muted by me: their messages arrive collapsed, for me only.
    muted_user_ids: frozenset[int] = NOTHING
    # Content-warning labels I want collapsed behind a tap.
    collapsed_labels: frozenset[str] = NOTHING

    def hides(self, user_id: int | None) -> bool:
        """True if nothing from (or about) this person should reach me."""
        return user_id is not None and user_id in self.hidden_user_ids

    def collapse_reason(self, author_id: int | None, label: str | None) -> str | None:
        """Why a message by ``author_id`` labelled ``label`` arrives collapsed for me, or None."""
        if author_id == self.user_id:
            return None
        if author_id is not None and author_id in self.muted_user_ids:
            return CollapseReason.MUTED
        if label and label in self.collapsed_labels:
            return CollapseReason.CONTENT_WARNING
        return None

    def present(self, wire: dict[str, Any], author_id: int | None, label: str | None) -> dict[str, Any] | None:
        """The message object as I should receive it: None if hidden, collapsed if I asked for that."""
        if self.hides(author_id):
            return None
        reason = self.collapse_reason(author_id, label)
        if reason is None:
            return wire
        return {**wire, "collapsed": {"reason": reason, "label": label or ""}}


def _hidden_people(quote) -> str:
    """Whom blocks hide from a reader, either way: the other person of each block they are in, as
    ``person``. Its parameters: the reader's id, three times."""
    blocked = quote(BlockedMember._meta.db_table)
    return (
        "SELECT CASE WHEN blocker_id = %s THEN blocked_id ELSE blocker_id END AS person "  # noqa: S608  # nosec B608: a table name from model meta
        f"FROM {blocked} WHERE blocker_id = %s OR blocked_id = %s"
    )


def hidden_people_statement() -> tuple[str, int]:
    """The people a reader's blocks hide (either way), as a statement to use inside another (a history
    page leaves their messages out with it), and how many times it takes the reader's id."""
    return _hidden_people(connection.ops.quote_name), 3


def boundaries_statement() -> tuple[str, int]:
    """The statement a snapshot is read with, and how many times it takes the reader's id: rows of
    (kind, person, chosen labels) for :func:`snapshot_from_rows`. Blocks either way, my mutes and my
    collapsed labels, each branch of the union on its own index. A history page read over HTTP reads
    these rows beside the page, in the same statement (chat.pages)."""
    quote = connection.ops.quote_name
    sql = (
        "SELECT 'b' AS kind, hidden.person AS person, CAST(NULL AS TEXT) AS chosen "  # noqa: S608  # nosec B608: table names from model meta
        f"FROM ({_hidden_people(quote)}) hidden "
        f"UNION ALL SELECT 'm', muted_id, NULL FROM {quote(MutedMember._meta.db_table)} WHERE muter_id = %s "
        "UNION ALL SELECT 'l', NULL, CAST(collapsed_labels AS TEXT) "
        f"FROM {quote(BoundarySettings._meta.db_table)} WHERE user_id = %s"
    )
    return sql, 5


def snapshot_from_rows(user_id: int, rows) -> BoundarySnapshot:
    """The snapshot the rows of :func:`boundaries_statement` describe."""
    hidden: set[int] = set()
    muted: set[int] = set()
    labels: list[str] = []
    for kind, person, chosen in rows:
        if kind == "b":
            hidden.add(person)
        elif kind == "m":
            muted.add(person)
        elif chosen:
            labels = json.loads(chosen)
    return BoundarySnapshot(
        user_id=user_id,
        hidden_user_ids=frozenset(hidden) if hidden else NOTHING,
        muted_user_ids=frozenset(muted) if muted else NOTHING,
        collapsed_labels=frozenset(labels) if labels else NOTHING,
    )


def load_boundaries(user_id: int) -> BoundarySnapshot:
    """Everything the chat needs to honour this person's boundaries, in one plain query.

    It is read on every socket connect and every chat page (the HTTP history reads it with its page).
    """
    sql, uses = boundaries_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id] * uses)
        return snapshot_from_rows(user_id, cursor.fetchall())
