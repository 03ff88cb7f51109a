from __future__ import annotations

from django.conf import settings
from django.db import models


class MessageState(models.TextChoices):
    VISIBLE = "visible", "Visible"
    # Held for a facilitator's review: only the author and facilitators see it.
    HELD = "held", "Held for review"
    REMOVED_BY_AUTHOR = "removed_by_author", "Removed by its author"
    # Hidden by a facilitator or the moderation engine; never re-delivered, only its tombstone.
    REMOVED_UNDER_AGREEMENT = "removed_under_agreement", "Removed under an agreement"


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
    state = models.CharField(max_length=24, choices=MessageState.choices, default=MessageState.VISIBLE)
    # The message this one replies to (quoted in the client).
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    # A content-warning label (food, body, self_harm, trauma_details, ...) set by the author or moderation;
    # members who collapse that label receive the message collapsed.
    content_warning = models.CharField(max_length=32, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    # Moderation: the categories the engine found, and the agreement a removal was made under.
    categories = models.JSONField(default=list, blank=True)
    removed_agreement_number = models.PositiveIntegerField(null=True, blank=True)

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
