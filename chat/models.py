from __future__ import annotations

from django.conf import settings
from django.db import models


class MessageState(models.TextChoices):
    VISIBLE = "visible", "Visible"
    REMOVED_BY_AUTHOR = "removed_by_author", "Removed by its author"


class Message(models.Model):
    """One message in a group's conversation, numbered by ``seq`` within the group."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="chat_messages"
    )
    # Chosen by the sender's client; a resend with the same id stores nothing new.
    client_id = models.CharField(max_length=64)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=20, choices=MessageState.choices, default=MessageState.VISIBLE)

    class Meta:
        ordering = ["group", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["group", "seq"], name="unique_seq_per_group"),
            models.UniqueConstraint(fields=["group", "author", "client_id"], name="unique_client_id_per_author"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in group {self.group_id}"

    def to_wire(self, author_pseudonym: str | None = None) -> dict:
        """The message as the documented protocol carries it (docs/protocol.md)."""
        if author_pseudonym is None:
            author_pseudonym = self.author.pseudonym if self.author_id else ""
        return {
            "seq": self.seq,
            "author": {"id": self.author_id, "pseudonym": author_pseudonym or "A former member"},
            "body": self.body if self.state == MessageState.VISIBLE else "",
            "state": self.state,
            "created_at": self.created_at.isoformat(),
        }
