# ruff: noqa: S608 (the SQL here is built from model table names and placeholders only; values are parameters)
"""A page of the conversation as wire objects, read in two plain queries.

History is read on every socket connect, every backfill and every HTTP history request. Built
from model instances (message, author, their boundaries, the quoted message and its author,
reactions and their people) a page of 50 cost about 6 ms of the database thread, most of it
the ORM assembling objects nobody keeps. Here one query reads the page with everything
``Message.to_wire`` shows, a second its reactions, and the dicts are built directly; the
result is the same, field for field (tests/chat compare them).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from groups.boundaries import BoundarySnapshot
from groups.models import BoundarySettings
from supportcircle.accounts.models import User

from .models import Message, MessageState, Reaction

_SHOWN_STATES = (MessageState.VISIBLE, MessageState.HELD)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _select(boundaries: BoundarySnapshot) -> tuple[str, list]:
    hidden = sorted(boundaries.hidden_user_ids)
    sql = (
        "SELECT m.id, m.seq, m.author_id, u.pseudonym, b.here_to_be_heard, m.body, m.state, "  # nosec B608
        "m.removed_agreement_number, m.created_at, m.reply_to_id, m.content_warning, m.edited_at, m.pinned_at, "
        "r.seq, r.author_id, ru.pseudonym, r.body, r.state, r.content_warning "
        f"FROM {_table(Message)} m "
        f"LEFT JOIN {_table(User)} u ON u.id = m.author_id "
        f"LEFT JOIN {_table(BoundarySettings)} b ON b.user_id = m.author_id "
        f"LEFT JOIN {_table(Message)} r ON r.id = m.reply_to_id "
        f"LEFT JOIN {_table(User)} ru ON ru.id = r.author_id "
        # Held messages reach only their author (and the facilitators' queue).
        "WHERE m.group_id = %s AND NOT (m.state = %s AND (m.author_id IS NULL OR m.author_id <> %s)) "
    )
    params: list = [MessageState.HELD.value, boundaries.user_id]
    if hidden:
        # Blocked either way: never shown (a message without an author stays).
        sql += f"AND (m.author_id IS NULL OR m.author_id NOT IN ({', '.join(['%s'] * len(hidden))})) "
        params += hidden
    return sql, params


def wire_page(
    group_id: int, boundaries: BoundarySnapshot, *, after_seq: int = 0, newest: bool = False, limit: int = 50
) -> list[dict]:
    """Messages after ``after_seq`` (or, with ``newest``, the last ``limit``), oldest first, as
    ``Message.to_wire`` gives them (with "here to be heard" beside the author's name), before any
    per-reader shaping: collapsing and quotes are the caller's (chat.actions._shaped_wire)."""
    sql, params = _select(boundaries)
    if newest:
        sql += "ORDER BY m.seq DESC LIMIT %s"
        params = [group_id, *params, limit]
    else:
        sql += "AND m.seq > %s ORDER BY m.seq LIMIT %s"
        params = [group_id, *params, after_seq, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if newest:
        rows.reverse()
    reactions = _reactions([row[0] for row in rows])
    return [_wire(row, reactions.get(row[0], [])) for row in rows]


def _wire(row, reactions: list[dict]) -> dict:
    (
        message_id,
        seq,
        author_id,
        pseudonym,
        heard_only,
        body,
        state,
        removed_agreement,
        created_at,
        reply_to_id,
        content_warning,
        edited_at,
        pinned_at,
        quoted_seq,
        quoted_author_id,
        quoted_pseudonym,
        quoted_body,
        quoted_state,
        quoted_warning,
    ) = row
    wire = {
        "seq": seq,
        "author": {"id": author_id, "pseudonym": (pseudonym if author_id else "") or "A former member"},
        "body": body if state in _SHOWN_STATES else "",
        "state": state,
        "removed_agreement": removed_agreement,
        "created_at": _iso(created_at),
        "reply_to": {
            "seq": quoted_seq,
            "author": {"id": quoted_author_id, "pseudonym": quoted_pseudonym if quoted_author_id else ""},
            "excerpt": quoted_body[:140] if quoted_state == MessageState.VISIBLE else "",
            "state": quoted_state,
            "content_warning": quoted_warning,
        }
        if reply_to_id
        else None,
        "content_warning": content_warning,
        "edited_at": _iso(edited_at),
        "pinned": pinned_at is not None,
        "reactions": reactions,
    }
    if author_id and heard_only:
        wire["author"]["heard_only"] = True
    return wire


def _reactions(message_ids: list[int]) -> dict[int, list[dict]]:
    """Each message's reactions, in the order they were given."""
    found: dict[int, list[dict]] = {}
    if not message_ids:
        return found
    sql = (
        f"SELECT x.message_id, x.kind, x.user_id, u.pseudonym FROM {_table(Reaction)} x "  # nosec B608
        f"JOIN {_table(User)} u ON u.id = x.user_id "
        f"WHERE x.message_id IN ({', '.join(['%s'] * len(message_ids))}) ORDER BY x.created_at, x.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, message_ids)
        for message_id, kind, user_id, pseudonym in cursor.fetchall():
            found.setdefault(message_id, []).append({"kind": kind, "user": {"id": user_id, "pseudonym": pseudonym}})
    return found
