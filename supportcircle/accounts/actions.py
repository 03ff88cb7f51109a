"""Account-level state changes, one function each."""

from __future__ import annotations

import datetime
import logging

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from chat.actions import _broadcast_updated
from chat.models import Message, MessageState
from groups.actions import groups_they_alone_facilitate
from groups.models import Group
from moderation.models import AuditEntry
from supportcircle import realtime

from .models import User

# In each group whose only active facilitator deleted their account, for the administrators (audit log, logs).
NO_FACILITATOR_LEFT = "groups.facilitator.none_left"

log = logging.getLogger(__name__)


def _sessions_of(user: User) -> list[str]:
    keys = []
    for session in Session.objects.iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            keys.append(session.session_key)
    return keys


def delete_account(user: User) -> None:
    """The person leaves SupportCircle for good.

    Their words are erased: each message they wrote becomes a tombstone
    ("Message removed by its author.", keeping its place in the conversation so
    nothing looks lost), and open chats see the tombstone at once. Their account,
    memberships, boundaries, reactions and direct messages are deleted; every
    session ends and every socket closes within a second. Nothing about them
    stays in a cache or in Redis: we cache nothing per person, and the channel
    layer only passes (encrypted) events along, storing none.

    It is never refused. A group this person facilitated alone is left without a
    facilitator until an administrator brings one in: its audit log says so (with
    no name) and the logs carry a warning, so the administrators learn it at once.
    """
    user_id = user.pk
    with transaction.atomic():
        alone_in = groups_they_alone_facilitate(user)
        for group in alone_in:
            AuditEntry.objects.create(
                group=group,
                kind=NO_FACILITATOR_LEFT,
                note="The only active facilitator deleted their account. "
                "Crisis alerts and the queue reach nobody until an administrator brings in another facilitator.",
            )
        for message in Message.objects.filter(author_id=user_id).exclude(state=MessageState.REMOVED_BY_AUTHOR):
            message.state = MessageState.REMOVED_BY_AUTHOR
            message.body = ""
            message.pinned_at = None
            message.save(update_fields=["state", "body", "pinned_at"])
            _broadcast_updated(message)
        Session.objects.filter(session_key__in=_sessions_of(user)).delete()
        realtime.on_commit_revoke(user_id=user_id, group_id=None, reason=realtime.RevokeReason.ACCOUNT_DELETED)
        user.delete()
    log.info("account deleted (user %s)", user_id)
    for group in alone_in:
        log.warning(
            "group %s has no active facilitator: its only one deleted their account; "
            "crisis alerts there reach nobody until an administrator brings one in",
            group.pk,
        )


def purge_expired_transcripts(now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete chat messages older than their group's agreed retention; returns how many per group slug.

    Run on a schedule (`manage.py purge_expired`, e.g. hourly). Later messages keep
    their sequence numbers, so clients see no gap: history simply starts later.
    """
    now = now or timezone.now()
    purged = {}
    for group in Group.objects.filter(transcript_retention_days__isnull=False):
        cutoff = now - datetime.timedelta(days=group.transcript_retention_days)
        with transaction.atomic():
            count, _ = Message.objects.filter(group=group, created_at__lt=cutoff).delete()
        if count:
            purged[group.slug] = count
            log.info("purged %s expired messages from group %s", count, group.pk)
    return purged
