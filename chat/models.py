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
        indexes = [
            # The rate limit and slow mode read an author's latest message times in a group.
            models.Index(fields=["group", "author", "created_at"], name="author_times_in_group"),
            # The pinned messages a socket gets on connect: a handful among a million.
            models.Index(
                fields=["group", "pinned_at"], condition=models.Q(pinned_at__isnull=False), name="pinned_in_group"
            ),
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
            # A held message reaches only its author (and the facilitators' queue), so its words may show.
            "body": self.body if self.state in (MessageState.VISIBLE, MessageState.HELD) else "",
            "state": self.state,
            # Set when state is removed_under_agreement: clients show "Removed under agreement N".
            "removed_agreement": self.removed_agreement_number,
            "created_at": self.created_at.isoformat(),
            "reply_to": self.quoted() if self.reply_to_id else None,
            "content_warning": self.content_warning,
            "edited_at": self.edited_at.isoformat() if self.edited_at else None,
            "pinned": self.pinned_at is not None,
            "reactions": self.reactions_to_wire(),
        }

    def quoted(self) -> dict:
        """What a reply shows of the message it answers: a short excerpt, never removed content."""
        original = self.reply_to
        visible = original.state == MessageState.VISIBLE
        return {
            "seq": original.seq,
            "author": {"id": original.author_id, "pseudonym": original.author.pseudonym if original.author_id else ""},
            "excerpt": original.body[:140] if visible else "",
            "state": original.state,
            "content_warning": original.content_warning,
        }

    def reactions_to_wire(self) -> list[dict]:
        # Only when loaded by chat.actions._for_wire (into ``loaded_reactions``): a new message has
        # none, and history must not cost a query per message.
        return [
            {"kind": reaction.kind, "user": {"id": reaction.user_id, "pseudonym": reaction.user.pseudonym}}
            for reaction in getattr(self, "loaded_reactions", ())
        ]


class Reaction(models.Model):
    """A compassionate reaction from one member to one message (kinds: chat.protocol.REACTIONS).

    Shown as who reacted, never as a count or ranking.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_reactions")
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "kind"], name="one_reaction_of_a_kind_per_member"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.message}"


class ReadMarker(models.Model):
    """How far a member has read in a group's chat: drives the "New since you were last here" divider."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="read_markers")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="read_markers")
    last_read_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="one_read_marker_per_group")]

    def __str__(self) -> str:
        return f"{self.user} read {self.group} to #{self.last_read_seq}"


class Presence(models.Model):
    """One open socket of one member in one group, in any server process.

    Rows of a process that died are never deleted by it; they expire once
    ``last_seen`` (refreshed by the client's ping every 20 s) is older than
    chat.protocol.PRESENCE_TTL_SECONDS.
    """

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presences")
    channel_name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["group", "last_seen"])]

    def __str__(self) -> str:
        return f"{self.user} here in {self.group}"


class RoomState(models.Model):
    """The room practices a facilitator sets for a live session: one row per group, created on first change."""

    group = models.OneToOneField("groups.Group", on_delete=models.CASCADE, related_name="room_state")
    # One message per this many seconds per member; 0 is off.
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    # Only facilitators post (for example during a grounding exercise).
    paused = models.BooleanField(default=False)
    # Listening circle: one member holds the floor; others may only react; hands queue in order.
    circle_on = models.BooleanField(default=False)
    floor_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_hands = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"room of {self.group}"


class RoundKind(models.TextChoices):
    CHECKIN = "checkin", "Check-in round"
    GRATITUDE = "gratitude", "Gratitude round"


class Round(models.Model):
    """A check-in or gratitude round a facilitator opens; members answer once each (and may change it)."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="rounds")
    kind = models.CharField(max_length=12, choices=RoundKind.choices)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="opened_rounds"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["group"], condition=models.Q(closed_at__isnull=True), name="one_open_round_per_group"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} round in {self.group}"


class RoundAnswer(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="answers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="round_answers")
    # Keys from chat.protocol.FEELINGS and NEEDS (check-in rounds).
    feelings = models.JSONField(default=list, blank=True)
    need = models.CharField(max_length=32, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # What the member is grateful for (gratitude rounds).
    gratitude = models.CharField(max_length=500, blank=True)
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["answered_at", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "user"], name="one_answer_per_member_per_round")]

    def __str__(self) -> str:
        return f"{self.user} in {self.round}"


class ChatEvent(models.Model):
    """Audit row for every change to the conversation or the room other than posting itself."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="chat_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Dotted, e.g. "chat.message.edited", "chat.room.paused", "chat.round.opened".
    kind = models.CharField(max_length=40)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Small facts about the change (never message content).
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} in group {self.group_id}"
