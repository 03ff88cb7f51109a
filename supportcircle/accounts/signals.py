"""What accounts announce, and closing a person's open sockets when their session or account ends.

Accounts sit below every other app and import none of them: apps above learn of an account being
deleted through the two signals here and do their part (the chat erases the person's words, moderation
notes a group left without a facilitator, groups says which groups those would be).

The receivers below close a person's sockets in every server process once the change commits (each socket
re-checks and closes with the verdict's code); the periodic re-check (supportcircle.accounts.sessions.
SessionGuard) is the backstop, for a session reaching its natural expiry or a change written with no signal.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from supportcircle import realtime

from .models import User
from .sessions import session_digest

# Sent inside the deletion's transaction, before the person is deleted (``user``): each receiver does
# its app's part in the same transaction, so the deletion happens whole or not at all.
account_deleting = Signal()
# Sent when a person considers deleting their account (``user``): each receiver answers with what the
# deletion would leave behind, in words the person reads before they decide (a list of strings).
account_deletion_leaves = Signal()


@receiver(user_logged_out)
def close_sockets_of_the_ended_session(sender, request, user, **kwargs) -> None:
    """Logging out closes the sockets this browser opened; other devices stay signed in, as pages do.
    Sent to the person's own channel, which their every socket has joined, naming the session: one
    channel a socket fewer to join and leave in Redis."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        realtime.on_commit_revoke_session(
            user_id=user.pk, session=session_digest(session_key), reason=realtime.RevokeReason.LOGGED_OUT
        )


@receiver(post_save, sender=User)
def close_sockets_when_the_account_changes(sender, instance: User, created: bool, **kwargs) -> None:
    """A password change or a deactivation ends every session, so it closes every socket of that person."""
    if created:
        return
    if getattr(instance, "_password", None) is not None:
        realtime.on_commit_revoke(user_id=instance.pk, group_id=None, reason=realtime.RevokeReason.PASSWORD_CHANGED)
    elif not instance.is_active:
        realtime.on_commit_revoke(user_id=instance.pk, group_id=None, reason=realtime.RevokeReason.DEACTIVATED)


@receiver(post_delete, sender=User)
def close_sockets_when_the_account_goes(sender, instance: User, **kwargs) -> None:
    """An account deleted, by its person (actions.delete_account) or in the admin, closes every socket it had."""
    realtime.on_commit_revoke(user_id=instance.pk, group_id=None, reason=realtime.RevokeReason.ACCOUNT_DELETED)
