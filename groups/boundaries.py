"""Each member's personal boundaries, as the chat server applies them per recipient.

``BoundarySnapshot`` is pure: the consumer loads one at connect (a constant number
of queries), keeps it for the life of the socket, and reloads it when a
``boundaries.changed`` event arrives. History and backfill use the same snapshot,
so what someone chose not to see never reaches their screen by any path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from .models import BlockedMember, BoundarySettings, MutedMember


class CollapseReason:
    MUTED = "muted"
    CONTENT_WARNING = "content_warning"


@dataclass(frozen=True)
class BoundarySnapshot:
    user_id: int
    # Blocked in either direction: their messages, reactions and presence never reach me, nor mine them.
    hidden_user_ids: frozenset[int] = field(default_factory=frozenset)
    # Muted by me: their messages arrive collapsed, for me only.
    muted_user_ids: frozenset[int] = field(default_factory=frozenset)
    # Content-warning labels I want collapsed behind a tap.
    collapsed_labels: frozenset[str] = field(default_factory=frozenset)

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


def load_boundaries(user_id: int) -> BoundarySnapshot:
    """Everything the chat needs to honour this person's boundaries, in three queries."""
    hidden: set[int] = set()
    # 1: blocks either way
    blocks = BlockedMember.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id))
    for blocker_id, blocked_id in blocks.values_list("blocker_id", "blocked_id"):
        hidden.add(blocked_id if blocker_id == user_id else blocker_id)
    # 2: my mutes
    muted = frozenset(MutedMember.objects.filter(muter_id=user_id).values_list("muted_id", flat=True))
    # 3: my collapsed labels
    labels = BoundarySettings.objects.filter(user_id=user_id).values_list("collapsed_labels", flat=True).first() or []
    return BoundarySnapshot(
        user_id=user_id,
        hidden_user_ids=frozenset(hidden),
        muted_user_ids=muted,
        collapsed_labels=frozenset(labels),
    )
