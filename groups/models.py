from __future__ import annotations

import math
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse


class Topic(models.TextChoices):
    EATING_DISORDER = "eating_disorder", "Eating-disorder recovery"
    TRAUMA = "trauma", "Trauma"
    STRESS = "stress", "Everyday stress"
    OPEN = "open", "Open to all"


class Visibility(models.TextChoices):
    LISTED = "listed", "Listed in the directory"
    UNLISTED = "unlisted", "Unlisted (invite link only)"


class JoinPolicy(models.TextChoices):
    OPEN = "open", "Open: join by accepting the agreements"
    REQUEST = "request", "Request to join: a facilitator approves"
    INVITE = "invite", "Invite link only"


def new_invite_token() -> str:
    return secrets.token_urlsafe(16)


class Group(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=80)
    topic = models.CharField(max_length=20, choices=Topic.choices, default=Topic.OPEN)
    description = models.TextField(blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.LISTED)
    join_policy = models.CharField(max_length=10, choices=JoinPolicy.choices, default=JoinPolicy.OPEN)
    capacity = models.PositiveIntegerField(default=12, help_text="How many members (not counting facilitators).")
    invite_token = models.CharField(max_length=32, default=new_invite_token, unique=True)
    # Names of the moderation rule sets this group switches on (moderation.engine.RULESET_NAMES).
    rulesets = models.JSONField(default=list, blank=True)
    # The current version of the shared agreements; members must have accepted it to post.
    agreement_version = models.PositiveIntegerField(default=1)
    # The highest sequence number handed out in this group's chat (see chat.actions.post_message).
    last_seq = models.BigIntegerField(default=0)
    # Facilitator console (console.live): new people cannot join while a facilitator has locked joins.
    joins_locked = models.BooleanField(default=False)
    # Pause & breathe: members' posting is frozen until this moment, with a grounding prompt shown to all.
    breathe_until = models.DateTimeField(null=True, blank=True)
    breathe_prompt = models.CharField(max_length=200, blank=True)
    # Wellbeing radar thresholds (console.radar) and how long check-in answers are kept (purge_checkins).
    radar_silence_minutes = models.PositiveIntegerField(
        default=20, help_text="Suggest checking on someone who said nothing for this many minutes of a live session."
    )
    radar_quiet_after_reply_minutes = models.PositiveIntegerField(
        default=10, help_text="Suggest checking on someone who went quiet this long after a hard reply to them."
    )
    checkin_retention_days = models.PositiveIntegerField(
        default=30, help_text="Check-in answers are deleted after this many days (the group's agreement)."
    )
    # Privacy (owned by trust, see docs/security.md): purged by `manage.py purge_expired`.
    transcript_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Chat messages are deleted this many days after they were posted (the group's agreement). "
        "Empty: kept while the group exists.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("groups:detail", args=[self.slug])

    def current_agreements(self) -> models.QuerySet[Agreement]:
        return self.agreements.filter(version=self.agreement_version).order_by("number")

    def breathing_seconds_left(self, now) -> int:
        """Seconds until a pause & breathe ends (0: members may post). Checked by time, so it ends by itself."""
        if self.breathe_until is None or self.breathe_until <= now:
            return 0
        return max(1, math.ceil((self.breathe_until - now).total_seconds()))


class Agreement(models.Model):
    """One numbered agreement in one version of a group's shared agreements."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="agreements")
    version = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    text = models.CharField(max_length=300)
    # The moderation agreement this one enforces (moderation.engine DefaultAgreement.key), if any.
    rule_key = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["version", "number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "version", "number"], name="unique_agreement_number"),
        ]

    def __str__(self) -> str:
        return f"Agreement {self.number}: {self.text}"


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    FACILITATOR = "facilitator", "Facilitator"


class MembershipState(models.TextChoices):
    REQUESTED = "requested", "Asked to join"
    ACTIVE = "active", "Member"
    PAUSED = "paused", "Taking a break"
    LEFT = "left", "Left"
    DECLINED = "declined", "Request declined"
    REMOVED = "removed", "Removed"
    BANNED = "banned", "Banned"


# States in which a person holds a seat in the group.
SEATED_STATES = (MembershipState.ACTIVE, MembershipState.PAUSED)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(max_length=10, choices=MembershipState.choices, default=MembershipState.ACTIVE)
    # The agreement version this member last accepted (0: never).
    accepted_version = models.PositiveIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="one_membership_per_group"),
        ]
        indexes = [models.Index(fields=["group", "state"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.state})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The role as read, so that saving a different one is told to the person's open sockets
        # (groups.receivers): a facilitator's socket hears the facilitators' queue and alerts.
        instance.role_as_loaded = instance.__dict__.get("role")
        return instance

    @property
    def is_facilitator(self) -> bool:
        return self.role == Role.FACILITATOR

    @property
    def is_seated(self) -> bool:
        return self.state in SEATED_STATES

    @property
    def can_read(self) -> bool:
        return self.state in SEATED_STATES

    @property
    def receives_notifications(self) -> bool:
        """Members taking a break keep their seat but are not notified of anything."""
        return self.state == MembershipState.ACTIVE

    @property
    def has_current_agreements(self) -> bool:
        return self.accepted_version >= self.group.agreement_version


class AgreementAcceptance(models.Model):
    """A member said yes to a version of a group's agreements."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="acceptances")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="acceptances")
    version = models.PositiveIntegerField()
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.user} accepted version {self.version} of {self.group}"


class MembershipEvent(models.Model):
    """Every change of membership: who, when, why. Read-only history."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40)  # dotted, e.g. "groups.membership.joined"
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_state or '-'} -> {self.to_state}"


class ContentLabel(models.TextChoices):
    """Content-warning labels: set on a message by its author or by moderation, collapsed by choice."""

    FOOD = "food", "Food"
    BODY = "body", "Bodies and appearance"
    SELF_HARM = "self_harm", "Self-harm"
    TRAUMA_DETAILS = "trauma_details", "Details of trauma"
    SUBSTANCES = "substances", "Alcohol and drugs"
    SUICIDE = "suicide", "Suicide"


class DirectMessagePolicy(models.TextChoices):
    NOBODY = "nobody", "Nobody"
    FACILITATORS = "facilitators", "Facilitators of my groups only"
    ACCEPTED = "accepted", "Members I accept (they ask first)"


class BoundarySettings(models.Model):
    """One person's own boundaries. The server applies them to everything it sends them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boundary_settings")
    dm_policy = models.CharField(
        max_length=12, choices=DirectMessagePolicy.choices, default=DirectMessagePolicy.ACCEPTED
    )
    # ContentLabel values this person wants to receive collapsed behind a tap.
    collapsed_labels = models.JSONField(default=list, blank=True)
    # "I'm here to be heard, not advised": shown beside their name; moderation nudges unsolicited advice.
    here_to_be_heard = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "boundary settings"

    def __str__(self) -> str:
        return f"Boundaries of {self.user}"


def wants_to_be_heard(user) -> bool:
    """True if this person asked to be heard, not advised (no query when boundary_settings is select_related)."""
    try:
        return user.boundary_settings.here_to_be_heard
    except BoundarySettings.DoesNotExist:
        return False


class BlockedMember(models.Model):
    """``blocker`` blocked ``blocked``: neither sees the other's messages, reactions or presence."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="no_self_block"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker} blocked {self.blocked}"


class MutedMember(models.Model):
    """``muter`` muted ``muted``: their messages arrive collapsed, for the muter only."""

    muter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_made")
    muted = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="mute_once"),
            models.CheckConstraint(condition=~models.Q(muter=models.F("muted")), name="no_self_mute"),
        ]

    def __str__(self) -> str:
        return f"{self.muter} muted {self.muted}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class SessionSchedule(models.Model):
    """A live session that repeats every week, at a wall-clock time in the facilitator's time zone."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="schedules")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField(default=60)
    timezone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["weekday", "start_time"]

    def __str__(self) -> str:
        return f"{self.group}: {self.get_weekday_display()}s at {self.start_time:%H:%M} ({self.timezone})"


class DirectMessageRequestState(models.TextChoices):
    REQUESTED = "requested", "Waiting for an answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class DirectMessageRequest(models.Model):
    """Consent first: ``from_user`` asks ``to_user`` for a private conversation. Accepted, it is the thread."""

    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dm_requests_sent")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dm_requests_received")
    state = models.CharField(
        max_length=10, choices=DirectMessageRequestState.choices, default=DirectMessageRequestState.REQUESTED
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["from_user", "to_user"], name="one_dm_request_per_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.from_user} asked {self.to_user} ({self.state})"

    def other(self, user):
        return self.to_user if user.pk == self.from_user_id else self.from_user


class DirectMessage(models.Model):
    """One message in an accepted private conversation. Only its two people can read it, unless one of them
    reports it: then the facilitators of the shared group they chose can read that one message (moderation.Report)."""

    conversation = models.ForeignKey(DirectMessageRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"DM {self.pk} by {self.author}"


class LiveSession(models.Model):
    """One live session a facilitator opened and closed from the console (console.live)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="live_sessions")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["group"], condition=models.Q(ended_at__isnull=True), name="one_live_session_per_group"
            ),
        ]

    def __str__(self) -> str:
        return f"Session of {self.group} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None


class SessionAttendance(models.Model):
    """Who came to a live session, when they first arrived and when they last left (null: still here)."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    arrived_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["arrived_at", "id"]
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="one_attendance_per_session")]

    def __str__(self) -> str:
        return f"{self.user} at {self.session}"


class ListeningToday(models.Model):
    """A member said "I'm here to listen today": the wellbeing radar does not flag their silence that day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    set_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group", "day"], name="listening_once_a_day")]

    def __str__(self) -> str:
        return f"{self.user} listening in {self.group} on {self.day}"


class CareMessage(models.Model):
    """A facilitator's private, kind check-in sent to one member from the console (audit and delivery)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="care_messages")
    facilitator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_received")
    # The reason the radar gave, if the check-in came from it (never message content).
    reason = models.CharField(max_length=40, blank=True)
    body = models.CharField(max_length=500)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"Check-in from {self.facilitator} to {self.member}"
