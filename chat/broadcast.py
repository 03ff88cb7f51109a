"""Telling open sockets about committed changes, through the channel layer.

Everything here is scheduled with ``transaction.on_commit``: nothing reaches a
socket unless the change it describes is safely in the database.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .protocol import CloseCode

log = logging.getLogger(__name__)


def group_channel(group_id: int) -> str:
    return f"group.{group_id}"


def user_channel(user_id: int) -> str:
    return f"user.{user_id}"


def _send_now(channel_group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(channel_group, event)
    except Exception:
        # The change is committed; sockets that miss this event catch up by
        # sequence-number backfill (or their next frame's authorization check).
        log.warning("channel layer send to %s failed", channel_group, exc_info=True)


def on_commit_send(channel_group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _send_now(channel_group, event))


def on_commit_message(group_id: int, *, seq: int, author_id: int | None, frame: str) -> None:
    """Fan a stored message out to everyone in the group: serialized once, here."""
    on_commit_send(
        group_channel(group_id),
        {"type": "chat.message", "seq": seq, "author_id": author_id, "frame": frame},
    )


def on_commit_revoke(*, user_id: int, group_id: int | None, reason: str) -> None:
    """Close a person's open sockets for a group (or for every group when group_id is None)."""
    code = {
        "banned": CloseCode.BANNED,
        "logged_out": CloseCode.NOT_LOGGED_IN,
    }.get(reason, CloseCode.MEMBERSHIP_ENDED)
    on_commit_send(
        user_channel(user_id),
        {"type": "access.revoked", "group_id": group_id, "code": int(code), "reason": reason},
    )
