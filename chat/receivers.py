"""What the chat does when apps below it announce a change (connected in ChatConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from supportcircle.accounts.signals import account_deleting

from .actions import broadcast_updated
from .models import Message, MessageState


@receiver(account_deleting, dispatch_uid="chat.erase_the_words_of_a_deleted_account")
def erase_the_words_of_a_deleted_account(sender, user, **kwargs) -> None:
    """Each message the person wrote becomes a tombstone ("Message removed by its author.", keeping its place
    in the conversation so nothing looks lost), and open chats see the tombstone at once."""
    for message in Message.objects.filter(author_id=user.pk).exclude(state=MessageState.REMOVED_BY_AUTHOR):
        message.state = MessageState.REMOVED_BY_AUTHOR
        message.body = ""
        message.pinned_at = None
        message.save(update_fields=["state", "body", "pinned_at"])
        broadcast_updated(message)
