"""What the safeguarding rota remembers: who is on it and when, each group's escalation window, and
for every crisis alert its case (state, owner, how far it climbed), who was paged, and debriefs.

Like moderation's log, nothing here stores what a message said."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from groups.models import Weekday


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} isn't a time zone we know; try one like Europe/London.") from None


class RotaMember(models.Model):
    """Someone who takes crisis alerts when a group's own facilitators don't, in their hours."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rota_member")
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="Their hours are in this time zone."
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deputy_for",
        help_text="Paged instead when this person is on duty but has said they're unavailable.",
    )
    # The person's own switch (the rota page): unavailable means never paged, whatever the hours say.
    is_available = models.BooleanField(default=True)
    unavailable_since = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Untick to take someone off the rota.")

    def __str__(self) -> str:
        return f"{self.user} on the rota"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class RotaHours(models.Model):
    """One stretch of a rota member's week, in their own time zone. Ends before it starts: it runs past
    midnight into the next day; the same start and end: the whole day."""

    member = models.ForeignKey(RotaMember, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["weekday", "starts"]
        verbose_name_plural = "rota hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class EscalationWindow(models.Model):
    """How long an alert in this group waits for someone to take it before it climbs (defaults in settings)."""

    group = models.OneToOneField("groups.Group", on_delete=models.CASCADE, related_name="escalation_window")
    live_minutes = models.PositiveSmallIntegerField(help_text="While a live session is open.")
    quiet_minutes = models.PositiveSmallIntegerField(help_text="The rest of the time.")

    def __str__(self) -> str:
        return f"Escalation window of {self.group}"


class CaseState(models.TextChoices):
    OPEN = "open", "Waiting for someone to take it"
    ACKNOWLEDGED = "acknowledged", "Taken"
    FOLLOWED_UP = "followed_up", "Followed up"
    CLOSED = "closed", "Closed"


class Step(models.IntegerChoices):
    """How far an alert has climbed; each step is paged once, in this order."""

    FACILITATORS_HERE = 0, "the group's facilitators who are here"
    GROUP_FACILITATORS = 1, "all of the group's facilitators"
    ROTA = 2, "the safeguarding rota"
    OPERATORS = 3, "the operators"


class AlertCase(models.Model):
    """One crisis alert's life: open until a named person takes it, then followed up, then closed."""

    alert = models.OneToOneField("moderation.Alert", on_delete=models.CASCADE, related_name="safeguarding_case")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="safeguarding_cases")
    raised_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=CaseState.choices, default=CaseState.OPEN)
    step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.FACILITATORS_HERE)
    # When it climbs next if nobody takes it (at the operators' step: when everyone is reminded); None once taken.
    next_step_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Seen only by the people who may take alerts in this group: never the member.
    follow_up_note = models.CharField(max_length=500, blank=True)
    followed_up_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            models.Index(fields=["state", "next_step_at"]),
            models.Index(fields=["raised_at"]),
        ]

    def __str__(self) -> str:
        return f"Case of alert {self.alert_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state == CaseState.OPEN

    @property
    def seconds_to_acknowledge(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.raised_at).total_seconds()


class Page(models.Model):
    """Someone was asked to take an alert (a banner on their pages, and an email if they weren't here)."""

    case = models.ForeignKey(AlertCase, on_delete=models.CASCADE, related_name="pages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="safeguarding_pages")
    step = models.PositiveSmallIntegerField(choices=Step.choices)
    paged_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="one_page_per_person_per_case")]

    def __str__(self) -> str:
        return f"{self.user} paged for case {self.case_id}"


class Presence(models.Model):
    """When someone's pages last asked for the banner: connected people get the banner, not an email."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} seen at {self.seen_at:%H:%M:%S}"


class Debrief(models.Model):
    """A short note a person writes for themselves after handling an alert: only they read it."""

    case = models.ForeignKey(AlertCase, on_delete=models.CASCADE, related_name="debriefs")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=1000)
    written_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Debrief by {self.author_id} on case {self.case_id}"
