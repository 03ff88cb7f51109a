# ruff: noqa: S608 (the SQL here is built from model table names and placeholders only; values are parameters)
"""A page of the conversation as wire objects, with the reader's standing, read in one plain statement.

History is read on every socket connect, every backfill and every HTTP history request. Built
from model instances (message, author, their boundaries, the quoted message and its author,
reactions and their people) a page of 50 cost about 6 ms of the database thread, most of it
the ORM assembling objects nobody keeps. Here one statement reads whether the reader may read
(the group's newest seq and their membership), the page with everything ``Message.to_wire``
shows and its reactions, and the dicts are built directly; the result is the same, field for
field (tests/chat compare them). One statement, not three: with the database a network hop
away each is a round trip, and on a busy server each is a wait to get the interpreter back.
A socket brings the reader's boundaries (its snapshot, kept since it connected); an HTTP history
request has none yet, and the same statement reads them too (``groups.boundaries``' own statement,
beside the page), and leaves out whom they hide with that statement's own rule for blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from groups.boundaries import BoundarySnapshot, boundaries_statement, hidden_people_statement, snapshot_from_rows
from groups.models import BoundarySettings, Group, Membership
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


# The page's columns, as named inside the statement (``_statement``): the message, its author and their
# "here to be heard", and the quoted message with its author.
_PAGE_COLUMNS = (
    ("m.id", "id"),
    ("m.seq", "seq"),
    ("m.author_id", "author_id"),
    ("u.pseudonym", "pseudonym"),
    ("b.here_to_be_heard", "heard_only"),
    ("m.body", "body"),
    ("m.state", "state"),
    ("m.removed_agreement_number", "removed_agreement"),
    ("m.created_at", "created_at"),
    ("m.reply_to_id", "reply_to_id"),
    ("m.content_warning", "content_warning"),
    ("m.edited_at", "edited_at"),
    ("m.pinned_at", "pinned_at"),
    ("r.seq", "quoted_seq"),
    ("r.author_id", "quoted_author_id"),
    ("ru.pseudonym", "quoted_pseudonym"),
    ("r.body", "quoted_body"),
    ("r.state", "quoted_state"),
    ("r.content_warning", "quoted_warning"),
)


@dataclass(frozen=True)
class Page:
    """What one read of the conversation found: the reader's standing at that moment and the page."""

    latest_seq: int | None  # the group's newest seq; None: there is no such group
    state: str | None  # the reader's membership state; None: not a member
    messages: list[dict]
    boundaries: BoundarySnapshot  # the reader's, as given or as read with the page


def _statement(
    reader: int, boundaries: BoundarySnapshot | None, *, newest: bool, by_slug: bool
) -> tuple[str, list, list]:
    """The reader's standing (the group's last seq, their membership), the page and each message's
    reactions, in one statement: one row per reaction (or per message without any, or one row alone
    when the page is empty). Its parameters: the reader, the group, the group again, the first list
    returned, [after_seq], limit, the second list. The group is named by its id or (``by_slug``) by its
    slug, as the HTTP history names it. Without ``boundaries`` the statement also reads the reader's
    (rows of their own, first, marked ``b`` in a first column; the page's rows are marked ``p``)."""
    group_is = "g.slug = %s" if by_slug else "g.id = %s"
    page_group = (
        f"(SELECT g.id FROM {_table(Group)} g WHERE {group_is})"  # nosec B608: a table name from meta, a fixed test
        if by_slug
        else "%s"
    )
    page = (
        f"SELECT {', '.join(f'{column} AS {name}' for column, name in _PAGE_COLUMNS)} "  # nosec B608: names from meta
        f"FROM {_table(Message)} m "
        f"LEFT JOIN {_table(User)} u ON u.id = m.author_id "
        f"LEFT JOIN {_table(BoundarySettings)} b ON b.user_id = m.author_id "
        f"LEFT JOIN {_table(Message)} r ON r.id = m.reply_to_id "
        f"LEFT JOIN {_table(User)} ru ON ru.id = r.author_id "
        # Held messages reach only their author (and the facilitators' queue).
        f"WHERE m.group_id = {page_group} AND NOT (m.state = %s AND (m.author_id IS NULL OR m.author_id <> %s)) "
    )
    before: list = [MessageState.HELD.value, reader]
    after: list = []
    # Blocked either way: never shown (a message without an author stays).
    if boundaries is None:
        hidden_sql, uses = hidden_people_statement()
        page += f"AND (m.author_id IS NULL OR m.author_id NOT IN (SELECT hidden.person FROM ({hidden_sql}) hidden)) "  # nosec B608: fixed text
        before += [reader] * uses
    elif boundaries.hidden_user_ids:
        hidden = sorted(boundaries.hidden_user_ids)
        page += f"AND (m.author_id IS NULL OR m.author_id NOT IN ({', '.join(['%s'] * len(hidden))})) "
        before += hidden
    page += "ORDER BY m.seq DESC LIMIT %s" if newest else "AND m.seq > %s ORDER BY m.seq LIMIT %s"
    columns = (
        "standing.last_seq, standing.state, "
        f"{', '.join(f'p.{name}' for _, name in _PAGE_COLUMNS)}, x.kind, x.user_id, xu.pseudonym"
    )
    rows = (
        f"FROM (SELECT g.last_seq AS last_seq, ms.state AS state FROM {_table(Group)} g "  # nosec B608: names from meta
        f"LEFT JOIN {_table(Membership)} ms ON ms.group_id = g.id AND ms.user_id = %s WHERE {group_is}) standing "
        f"LEFT JOIN ({page}) p ON 1 = 1 "
        f"LEFT JOIN {_table(Reaction)} x ON x.message_id = p.id "
        f"LEFT JOIN {_table(User)} xu ON xu.id = x.user_id "
    )
    if boundaries is not None:
        # Reactions in the order they were given.
        return f"SELECT {columns} {rows}ORDER BY p.seq, x.created_at, x.id", before, after  # nosec B608: see above
    boundaries_sql, uses = boundaries_statement()
    filler = ", ".join(["NULL"] * (2 + len(_PAGE_COLUMNS)))
    sql = (
        f"SELECT 'p' AS part, {columns}, x.created_at AS reacted_at, x.id AS reaction_id {rows}"  # nosec B608: see above
        f"UNION ALL SELECT 'b', {filler}, bd.kind, bd.person, bd.chosen, NULL, NULL FROM ({boundaries_sql}) bd "
        # The boundaries first, then the page by seq, reactions in the order they were given.
        f"ORDER BY 1, {_SEQ_AT}, {_SEQ_AT + len(_PAGE_COLUMNS) + 2}, {_SEQ_AT + len(_PAGE_COLUMNS) + 3}"
    )
    return sql, before, [reader] * uses


# Where the page's seq is among the columns when the statement reads the boundaries too (1-based, for ORDER BY):
# the part, the last seq, the state, the message id, then its seq.
_SEQ_AT = 5


def read_page(
    user_id: int,
    group: int | str,
    boundaries: BoundarySnapshot | None,
    *,
    after_seq: int = 0,
    newest: bool = False,
    limit: int = 50,
) -> Page:
    """The reader's standing and the messages after ``after_seq`` (or, with ``newest``, the last ``limit``),
    oldest first, as ``Message.to_wire`` gives them (with "here to be heard" beside the author's name),
    before any per-reader shaping: collapsing and quotes are the caller's (chat.actions._shaped), with the
    page's ``boundaries`` (those given, or without them the reader's, read in the same statement). The page
    is read whatever the standing says: the caller decides whether this reader may have it. ``group`` is
    the group's id, or its slug (the HTTP history's URL names it so, and needs no other read to find it)."""
    reads_boundaries = boundaries is None
    sql, before, after = _statement(user_id, boundaries, newest=newest, by_slug=isinstance(group, str))
    where = [limit] if newest else [after_seq, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, group, group, *before, *where, *after])
        rows = cursor.fetchall()
    if reads_boundaries:
        page_at = len(rows)
        for index, row in enumerate(rows):
            if row[0] == "p":
                page_at = index
                break
        # Each row: the part, the standing (2), the message, then the reaction's three (the boundaries' own there).
        reaction_at = 3 + len(_PAGE_COLUMNS)
        boundaries = snapshot_from_rows(user_id, (row[reaction_at : reaction_at + 3] for row in rows[:page_at]))
        rows = [row[1 : reaction_at + 3] for row in rows[page_at:]]
    if not rows:
        return Page(None, None, [], boundaries)
    messages: list[dict] = []
    for row in rows:
        message, reaction = row[2 : 2 + len(_PAGE_COLUMNS)], row[2 + len(_PAGE_COLUMNS) : 5 + len(_PAGE_COLUMNS)]
        if message[0] is None:  # the page is empty: the standing alone
            break
        if not messages or messages[-1]["seq"] != message[1]:
            messages.append(_wire(message, []))
        kind, reacting_id, pseudonym = reaction
        if kind is not None:
            messages[-1]["reactions"].append({"kind": kind, "user": {"id": reacting_id, "pseudonym": pseudonym}})
    return Page(rows[0][0], rows[0][1], messages, boundaries)


def wire_page(
    group_id: int, boundaries: BoundarySnapshot, *, after_seq: int = 0, newest: bool = False, limit: int = 50
) -> list[dict]:
    """The messages of :func:`read_page` alone, for the reader ``boundaries`` belong to."""
    return read_page(boundaries.user_id, group_id, boundaries, after_seq=after_seq, newest=newest, limit=limit).messages


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
