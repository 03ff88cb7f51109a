"""Account-level state changes, one function each."""

from __future__ import annotations

import logging

from django.contrib.sessions.models import Session
from django.db import transaction

from .models import User
from .signals import account_deleting, account_deletion_leaves

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
        account_deleting.send(sender=User, user=user)  # each app's part: words erased, gaps noted
        Session.objects.filter(session_key__in=_sessions_of(user)).delete()
        user.delete()  # which closes every socket of theirs after commit (signals.close_sockets_when_the_account_goes)
    log.info("account deleted (user %s)", user_id)


def what_deleting_leaves(user: User) -> list[str]:
    """What deleting this person's account would leave behind, as each app says it (a list of sentences)."""
    return [said for _, answer in account_deletion_leaves.send(sender=User, user=user) for said in answer or ()]
