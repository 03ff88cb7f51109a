"""What moderation remembers: each group's policy, the audit log, reports, alerts, time-outs,
warnings and repair.

Nothing here stores what a message said: the log names the message, the agreement and the
people, so reading it never re-exposes words that were removed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .engine import CATEGORIES, DEFAULT_ACTIONS, Action


class ModerationPolicy(models.Model):
    """What happens, in one group, when a message touches each kind of agreement."""

    group = models.OneToOneField("groups.Group", on_delete=models.CASCADE, related_name="moderation_policy")
    # category -> Action value; a category not named here uses engine.DEFAULT_ACTIONS.
    actions = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Moderation policy of group {self.group_id}"

    def action_map(self) -> dict[str, Action]:
        chosen = self.actions or {}
        return {category: Action(chosen.get(category, DEFAULT_ACTIONS[category])) for category in CATEGORIES}


class AuditEntry(models.Model):
    """One automated or human moderation action: who, what, which agreement, when. Never the words."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="audit_entries")
    # None: the moderation engine acted on its own.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=60)  # dotted, e.g. "moderation.message.held"
    agreement_number = models.PositiveIntegerField(null=True, blank=True)
    agreement_text = models.CharField(max_length=300, blank=True)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["group", "-at"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.kind} in group {self.group_id}"

    @property
    def is_automated(self) -> bool:
        return self.actor_id is None


class ReportReason(models.TextChoices):
    JUDGMENT = "judgment", "It felt judging or unkind"
    ADVICE = "advice", "Advice nobody asked for"
    NUMBERS_OR_DIET = "numbers_or_diet", "Numbers, diet or body talk"
    HARASSMENT = "harassment", "Harassment or a personal attack"
    CONTACT = "contact", "Asking to move off the platform"
    WORRIED = "worried", "I'm worried about the person who wrote it"
    OTHER = "other", "Something else"


class ReportState(models.TextChoices):
    OPEN = "open", "Waiting for a facilitator"
    RESOLVED = "resolved", "Answered"


class Report(models.Model):
    """A member asked the facilitators to look at a message. Always answered.

    Either a message in the group's chat, or one private message the other person wrote to the
    reporter: that one message (never the rest of the conversation) becomes readable to the
    facilitators of ``group``, a group the two people share that the reporter chose.
    """

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="reports")
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    direct_message = models.ForeignKey(
        "groups.DirectMessage", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    note = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=ReportState.choices, default=ReportState.OPEN)
    # What the reporter is told when the report is answered.
    outcome = models.CharField(max_length=500, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="one_report_per_message_per_person"),
            models.UniqueConstraint(
                fields=["direct_message", "reporter"], name="one_report_per_direct_message_per_person"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(message__isnull=False, direct_message__isnull=True)
                    | models.Q(message__isnull=True, direct_message__isnull=False)
                ),
                name="report_is_about_exactly_one_message",
            ),
        ]

    def __str__(self) -> str:
        if self.direct_message_id:
            return f"Report on private message {self.direct_message_id} ({self.state})"
        return f"Report on #{self.message_id} ({self.state})"

    @property
    def is_private(self) -> bool:
        """About a private message (a direct message), not a message in the group's chat."""
        return self.direct_message_id is not None

    @property
    def reported_message(self):
        return self.direct_message if self.is_private else self.message

    @property
    def reported_author(self):
        return self.reported_message.author


CRISIS_FIRST = ("crisis", "worried")
POSSIBLE_CRISIS = "possible_crisis"


class Alert(models.Model):
    """Facilitators were told about a message: always for crisis, and for any category a group set to alert.

    Shown to every facilitator of the group, live and whenever they next connect, until one of
    them acknowledges it.
    """

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="moderation_alerts")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("chat.Message", null=True, on_delete=models.SET_NULL, related_name="+")
    # "crisis" (the member was shown the card), "worried" (a peer raised a worry), "possible_crisis"
    # (the second opinion asks a facilitator to look; the member saw nothing), or another category.
    category = models.CharField(max_length=20, default="crisis")
    # Which help fits: suicide, self_harm, medical or danger_at_home (blank when unknown).
    crisis_kind = models.CharField(max_length=20, blank=True, default="")
    # Who raised it: the phrase engine, the second opinion, or a peer ("engine", "second_opinion", "peer").
    source = models.CharField(max_length=20, blank=True, default="engine")
    # The member who raised a worry (source "peer"); facilitators see who, to follow up with them too.
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The crisis resources the member was shown, as they were at that moment.
    resources_shown = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.category} alert in group {self.group_id}"

    @property
    def is_crisis(self) -> bool:
        """Crisis-first in every queue: a crisis, or a peer's worry about someone."""
        return self.category in CRISIS_FIRST

    @property
    def urgency(self) -> int:
        """The queue's order: crisis and worries, then "please look", then the rest."""
        if self.category in CRISIS_FIRST:
            return 0
        return 1 if self.category == POSSIBLE_CRISIS else 2


class TimeOut(models.Model):
    """A member may read but not post in a group until ``until``."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="time_outs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_outs")
    until = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    agreement_number = models.PositiveIntegerField(null=True, blank=True)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-until"]
        indexes = [models.Index(fields=["group", "user", "until"])]

    def __str__(self) -> str:
        return f"{self.user_id} paused in {self.group_id} until {self.until:%H:%M}"


class MemberWarning(models.Model):
    """A private, kind word from a facilitator that cites an agreement."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="warnings")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="warnings")
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agreement_number = models.PositiveIntegerField(null=True, blank=True)
    agreement_text = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=500, blank=True)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Warning to {self.member_id} in {self.group_id}"


class RepairState(models.TextChoices):
    PENDING = "pending", "Waiting for a facilitator"
    ACCEPTED = "accepted", "Accepted"


# What a member can say when they want to repair; each is offered with the agreement in question.
REPAIR_PROMPTS: tuple[str, ...] = (
    "I was wrong.",
    "I hurt you and want to understand.",
    "Can we try again?",
    "I'd like to hear how that landed for you.",
)


class RepairRequest(models.Model):
    """A member who was warned, or had a message hidden, offers to repair."""

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="repair_requests")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repair_requests")
    prompt = models.CharField(max_length=200)
    note = models.CharField(max_length=1000, blank=True)
    state = models.CharField(max_length=10, choices=RepairState.choices, default=RepairState.PENDING)
    warning = models.ForeignKey(MemberWarning, null=True, blank=True, on_delete=models.SET_NULL, related_name="repairs")
    message = models.ForeignKey("chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agreement_number = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Repair from {self.member_id} in {self.group_id} ({self.state})"
