"""Every change to groups and membership, one function each.

Each action runs in one transaction, records who did what and why, and only
tells open sockets about it after the transaction commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from supportcircle import realtime
from supportcircle.accounts.models import User
from supportcircle.security import log_refusal

from .errors import AskFirst, BoundaryError, MembershipError, NotAFacilitator
from .extensions import direct_message_reviewer
from .models import (
    SEATED_STATES,
    Agreement,
    AgreementAcceptance,
    BlockedMember,
    BoundarySettings,
    ContentLabel,
    DirectMessage,
    DirectMessagePolicy,
    DirectMessageRequest,
    DirectMessageRequestState,
    Group,
    JoinPolicy,
    Membership,
    MembershipEvent,
    MembershipState,
    MutedMember,
    Role,
    SessionSchedule,
    Topic,
)

BANNED_MESSAGE = "You can't join this group right now. If you think this is a mistake, please contact the facilitators."
FULL_MESSAGE = "This group is full at the moment. You're welcome to try again later."
CHANGED_MESSAGE = "The agreements changed while you were reading them. Please read the new version and accept it."
# Rule sets a group always gets for its topic, whatever else it asks for.
TOPIC_RULESETS = {Topic.EATING_DISORDER: ("ed_safety",)}


def _record(membership: Membership, *, actor: User | None, kind: str, from_state: str, reason: str = "") -> None:
    MembershipEvent.objects.create(
        membership=membership,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=membership.state,
        reason=reason,
    )


def _set_state(membership: Membership, state: str, *, actor: User | None, kind: str, reason: str = "") -> None:
    from_state = membership.state
    membership.state = state
    membership.save(update_fields=["state", "updated_at"])
    _record(membership, actor=actor, kind=kind, from_state=from_state, reason=reason)


def require_facilitator(actor: User, group: Group) -> Membership:
    """The actor's facilitating membership of this group, or NotAFacilitator (a 403)."""
    membership = Membership.objects.filter(
        user=actor, group=group, role=Role.FACILITATOR, state__in=SEATED_STATES
    ).first()
    if membership is None:
        raise NotAFacilitator()
    return membership


def _default_agreements(rulesets: Sequence[str], own_rule_keys: set[str]) -> list[tuple[str, str]]:
    from moderation.engine import DEFAULT_AGREEMENTS

    return [
        (agreement.text, agreement.key)
        for agreement in DEFAULT_AGREEMENTS
        if agreement.ruleset in rulesets and agreement.key not in own_rule_keys
    ]


def _write_agreements(group: Group, version: int, items: Iterable[str | tuple[str, str]]) -> None:
    """The group's own agreements first, then the default ones of its rule sets it does not already cover."""
    own = [(item, "") if isinstance(item, str) else tuple(item) for item in items]
    own = [(text.strip(), key) for text, key in own if text.strip()]
    everything = own + _default_agreements(group.rulesets, {key for _, key in own if key})
    Agreement.objects.bulk_create(
        Agreement(group=group, version=version, number=number, text=text, rule_key=key)
        for number, (text, key) in enumerate(everything, start=1)
    )


@transaction.atomic
def create_group(
    *,
    name: str,
    facilitators: Sequence[User],
    agreements: Iterable[str | tuple[str, str]],
    slug: str = "",
    description: str = "",
    topic: str = "open",
    capacity: int = 12,
    join_policy: str = JoinPolicy.OPEN,
    rulesets: Sequence[str] = (),
) -> Group:
    """A new group with its first version of shared agreements and its facilitators.

    The default agreements of its rule sets follow its own (an eating-disorder group
    always has the eating-disorder safety agreements).
    """
    if not facilitators:
        raise MembershipError("A group needs at least one facilitator.")
    rulesets = list(dict.fromkeys([*rulesets, *TOPIC_RULESETS.get(topic, ())]))
    group = Group.objects.create(
        slug=slug or slugify(name),
        name=name,
        description=description,
        topic=topic,
        capacity=capacity,
        join_policy=join_policy,
        rulesets=rulesets,
        agreement_version=1,
    )
    _write_agreements(group, 1, agreements)
    for facilitator in facilitators:
        membership = Membership.objects.create(
            user=facilitator, group=group, role=Role.FACILITATOR, state=MembershipState.ACTIVE, accepted_version=1
        )
        AgreementAcceptance.objects.create(user=facilitator, group=group, version=1)
        _record(membership, actor=facilitator, kind="groups.membership.facilitating", from_state="")
    return group


def _seats_taken(group: Group) -> int:
    return Membership.objects.filter(group=group, role=Role.MEMBER, state__in=SEATED_STATES).count()


JOINS_LOCKED_MESSAGE = (
    "A live session is under way, so the facilitators have paused new joins until it ends. "
    "Please come back a little later: you'll be very welcome."
)


def _take_seat(
    user: User, group: Group, *, accepted_version: int, kind: str, allowed_policies: Sequence[str]
) -> Membership:
    """Seat a person who accepted the current agreements; the caller holds the group row lock."""
    if accepted_version != group.agreement_version:
        raise MembershipError(CHANGED_MESSAGE)
    membership = Membership.objects.select_for_update().filter(user=user, group=group).first()
    from_state = membership.state if membership else ""
    if membership and membership.state == MembershipState.BANNED:
        raise MembershipError(BANNED_MESSAGE, reason="banned")
    if membership and membership.state in SEATED_STATES:
        return membership
    is_facilitator = bool(membership and membership.role == Role.FACILITATOR)
    if group.join_policy not in allowed_policies and not is_facilitator:
        if group.join_policy == JoinPolicy.REQUEST:
            raise MembershipError(
                "This group asks you to request a place; a facilitator will look at it soon.", reason="request_only"
            )
        raise MembershipError(
            "This group is joined by invite link. A facilitator can send you one.", reason="invite_only"
        )
    if group.joins_locked and not is_facilitator:
        # A facilitator locked joins from the console (console.live) while a session is under way.
        raise MembershipError(JOINS_LOCKED_MESSAGE)
    if not is_facilitator and _seats_taken(group) >= group.capacity:
        raise MembershipError(FULL_MESSAGE)
    if membership is None:
        membership = Membership(user=user, group=group, role=Role.MEMBER)
    membership.state = MembershipState.ACTIVE
    membership.accepted_version = group.agreement_version
    membership.save()
    AgreementAcceptance.objects.create(user=user, group=group, version=group.agreement_version)
    _record(membership, actor=user, kind=kind, from_state=from_state)
    return membership


def join_group(user: User, group: Group, *, accepted_version: int) -> Membership:
    """The member accepts the group's current agreements and takes a seat.

    The acceptance is recorded with the agreement version they read. The group
    row is locked first, so two people racing for the last seat cannot both win.
    """
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        return _take_seat(
            user, group, accepted_version=accepted_version, kind="groups.membership.joined", allowed_policies=("open",)
        )


def join_by_invite(user: User, token: str, *, accepted_version: int) -> Membership:
    """Someone with the group's invite link accepts its agreements and takes a seat, whatever its join policy."""
    with transaction.atomic():
        group = Group.objects.select_for_update().filter(invite_token=token).first()
        if group is None or not token:
            raise MembershipError(
                "This invite link isn't valid any more. Please ask a facilitator for a new one.",
                reason="invalid_invite",
            )
        return _take_seat(
            user,
            group,
            accepted_version=accepted_version,
            kind="groups.membership.joined_by_invite",
            allowed_policies=JoinPolicy.values,
        )


def request_to_join(user: User, group: Group, *, accepted_version: int, note: str = "") -> Membership:
    """The person accepts the agreements and asks for a place; a facilitator of the group decides."""
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        if accepted_version != group.agreement_version:
            raise MembershipError(CHANGED_MESSAGE)
        membership = Membership.objects.select_for_update().filter(user=user, group=group).first()
        from_state = membership.state if membership else ""
        if membership and membership.state == MembershipState.BANNED:
            raise MembershipError(BANNED_MESSAGE, reason="banned")
        if membership and membership.state in (*SEATED_STATES, MembershipState.REQUESTED):
            return membership
        if group.join_policy != JoinPolicy.REQUEST:
            raise MembershipError(
                "This group doesn't take requests; you can join it from its page.", reason="open_only"
            )
        if membership is None:
            membership = Membership(user=user, group=group, role=Role.MEMBER)
        membership.state = MembershipState.REQUESTED
        membership.accepted_version = group.agreement_version
        membership.save()
        AgreementAcceptance.objects.create(user=user, group=group, version=group.agreement_version)
        _record(membership, actor=user, kind="groups.membership.requested", from_state=from_state, reason=note[:500])
    return membership


def _locked_for_facilitator(actor: User, membership: Membership, *, answering: bool = False) -> Membership:
    """Check the actor facilitates this membership's group, then lock and re-read the membership."""
    require_facilitator(actor, membership.group)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if answering and membership.state != MembershipState.REQUESTED:
        raise MembershipError("This request has already been answered.")
    return membership


def approve_request(actor: User, membership: Membership, message: str = "") -> Membership:
    """A facilitator of the group gives the person their seat (if one is free), with an optional kind word."""
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=membership.group_id)
        membership = _locked_for_facilitator(actor, membership, answering=True)
        if _seats_taken(group) >= group.capacity:
            raise MembershipError("The group is full, so this request can't be approved until a seat is free.")
        _set_state(membership, MembershipState.ACTIVE, actor=actor, kind="groups.membership.approved", reason=message)
    return membership


def decline_request(actor: User, membership: Membership, message: str = "") -> Membership:
    """A facilitator of the group says no to a request; the person sees the optional kind message."""
    with transaction.atomic():
        membership = _locked_for_facilitator(actor, membership, answering=True)
        _set_state(membership, MembershipState.DECLINED, actor=actor, kind="groups.membership.declined", reason=message)
    return membership


def _refuse_acting_on_facilitators(actor: User, membership: Membership) -> None:
    if membership.user_id == actor.pk:
        raise MembershipError(
            "You can't do that to yourself. To step away, leave the group from its page.", reason="own_membership"
        )
    if membership.role == Role.FACILITATOR:
        raise MembershipError(
            "Facilitators can't remove or ban each other here; please ask an administrator.",
            reason="facilitator_on_facilitator",
        )


def remove_member(actor: User, membership: Membership, reason: str) -> Membership:
    """A facilitator removes a member, with a reason; their open chat closes in every server process
    (groups.receivers, as for every membership that leaves its seat)."""
    with transaction.atomic():
        membership = _locked_for_facilitator(actor, membership)
        _refuse_acting_on_facilitators(actor, membership)
        if membership.state not in SEATED_STATES:
            raise MembershipError("This person isn't a member of the group at the moment.")
        _set_state(membership, MembershipState.REMOVED, actor=actor, kind="groups.membership.removed", reason=reason)
    return membership


def ban_member(actor: User, membership: Membership, reason: str) -> Membership:
    """A facilitator bans someone, with a reason: their chat closes and they cannot join, ask or use an invite."""
    with transaction.atomic():
        membership = _locked_for_facilitator(actor, membership)
        _refuse_acting_on_facilitators(actor, membership)
        if membership.state == MembershipState.BANNED:
            return membership
        _set_state(membership, MembershipState.BANNED, actor=actor, kind="groups.membership.banned", reason=reason)
    return membership


def ban_person(actor: User, group: Group, person: User, reason: str) -> Membership:
    """Ban someone who may not have a membership yet (for example after a harmful request)."""
    with transaction.atomic():
        require_facilitator(actor, group)
        membership, _ = Membership.objects.get_or_create(
            user=person, group=group, defaults={"role": Role.MEMBER, "state": MembershipState.LEFT}
        )
    return ban_member(actor, membership, reason)


def lift_ban(actor: User, membership: Membership, reason: str = "") -> Membership:
    """A facilitator lifts a ban; the person may join again the usual way."""
    with transaction.atomic():
        membership = _locked_for_facilitator(actor, membership)
        if membership.state != MembershipState.BANNED:
            raise MembershipError("This person isn't banned.")
        _set_state(membership, MembershipState.LEFT, actor=actor, kind="groups.membership.ban_lifted", reason=reason)
    return membership


def leave_group(user: User, group: Group) -> Membership:
    """The member leaves; their open sockets for this group close.

    A group's last facilitator cannot leave it: crisis alerts and the queue would then reach nobody.
    Another facilitator comes first (an administrator brings them in)."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(user=user, group=group)
        if membership.state not in SEATED_STATES:
            return membership
        if membership.role == Role.FACILITATOR:
            # Every facilitator's row locked, in one order: two co-facilitators leaving at once see each other.
            # Only one who is not on a break counts: a break pauses their notifications.
            others = (
                Membership.objects.select_for_update()
                .filter(group=group, role=Role.FACILITATOR, state__in=SEATED_STATES)
                .exclude(pk=membership.pk)
                .order_by("pk")
            )
            if not any(other.state == MembershipState.ACTIVE for other in others):
                raise MembershipError(
                    "You're this group's only facilitator, so you can't leave it just yet: crisis alerts "
                    "and the queue would reach nobody. Please ask an administrator to bring in another "
                    "facilitator first.",
                    reason="last_facilitator",
                )
        _set_state(membership, MembershipState.LEFT, actor=user, kind="groups.membership.left")
    return membership


def groups_they_alone_facilitate(user: User) -> list[Group]:
    """The groups this person facilitates with no other facilitator who is active (one on a break gets no
    alerts), by name: were this person gone, crisis alerts and the queue there would reach nobody."""
    theirs = Membership.objects.filter(user=user, role=Role.FACILITATOR, state__in=SEATED_STATES)
    others = Membership.objects.filter(role=Role.FACILITATOR, state=MembershipState.ACTIVE).exclude(user=user)
    return list(
        Group.objects.filter(pk__in=theirs.values("group_id"))
        .exclude(pk__in=others.values("group_id"))
        .order_by("name", "pk")
    )


def _own_move(user: User, group: Group, *, from_state: str, to_state: str, kind: str, notice: str, refusal: str):
    """A member changes their own standing; their open chats re-check it and tell them kindly."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(user=user, group=group)
        if membership.state != from_state:
            # Someone not seated is refused for who they are; a seated member only for their state.
            raise MembershipError(refusal, reason="" if membership.state in SEATED_STATES else "not_a_member")
        _set_state(membership, to_state, actor=user, kind=kind)
        realtime.on_commit_access_changed(user_id=user.pk, group_id=group.pk, notice=notice)
    return membership


def pause_membership(user: User, group: Group) -> Membership:
    """Taking a break: the seat is kept, the chat stays readable, posting and notifications pause."""
    return _own_move(
        user,
        group,
        from_state=MembershipState.ACTIVE,
        to_state=MembershipState.PAUSED,
        kind="groups.membership.paused",
        notice="taking_a_break",
        refusal="You can take a break only while you're an active member of the group.",
    )


def resume_membership(user: User, group: Group) -> Membership:
    """Back from a break: the member can post again."""
    return _own_move(
        user,
        group,
        from_state=MembershipState.PAUSED,
        to_state=MembershipState.ACTIVE,
        kind="groups.membership.resumed",
        notice="welcome_back",
        refusal="You're not on a break from this group.",
    )


def accept_agreements(user: User, group: Group, *, accepted_version: int) -> Membership:
    """A seated member accepts the current agreements again after they changed, and can post again."""
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        if accepted_version != group.agreement_version:
            raise MembershipError(CHANGED_MESSAGE)
        membership = Membership.objects.select_for_update().get(user=user, group=group)
        if membership.state not in SEATED_STATES:
            raise MembershipError("Only members of the group can accept its agreements here.", reason="not_a_member")
        if membership.accepted_version >= group.agreement_version:
            return membership
        membership.accepted_version = group.agreement_version
        membership.save(update_fields=["accepted_version", "updated_at"])
        AgreementAcceptance.objects.create(user=user, group=group, version=group.agreement_version)
        _record(
            membership,
            actor=user,
            kind="groups.agreements.accepted",
            from_state=membership.state,
            reason=f"version {group.agreement_version}",
        )
        realtime.on_commit_access_changed(user_id=user.pk, group_id=group.pk, notice="agreements_accepted")
    return membership


def add_session_schedule(
    actor: User, group: Group, *, weekday: int, start_time, duration_minutes: int, timezone_name: str
) -> SessionSchedule:
    """A facilitator adds a weekly live session; members see it in their own time zone."""
    with transaction.atomic():
        facilitating = require_facilitator(actor, group)
        schedule = SessionSchedule.objects.create(
            group=group,
            weekday=weekday,
            start_time=start_time,
            duration_minutes=duration_minutes,
            timezone=timezone_name,
        )
        _record(
            facilitating, actor=actor, kind="groups.schedule.added", from_state=facilitating.state, reason=str(schedule)
        )
    return schedule


def remove_session_schedule(actor: User, schedule: SessionSchedule) -> None:
    """A facilitator takes a weekly live session off the schedule."""
    with transaction.atomic():
        facilitating = require_facilitator(actor, schedule.group)
        _record(
            facilitating,
            actor=actor,
            kind="groups.schedule.removed",
            from_state=facilitating.state,
            reason=str(schedule),
        )
        schedule.delete()


def change_agreements(actor: User, group: Group, texts: Sequence[str], reason: str = "") -> Group:
    """A facilitator publishes a new version of the agreements.

    Every member can still read the chat, but must accept the new version before
    posting again; open chats are told so at once, kindly, with a link.
    """
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        raise MembershipError("Please write at least one agreement.")
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        facilitating = require_facilitator(actor, group)
        _publish_agreements(group, facilitating, texts, reason)
    return group


def _publish_agreements(group: Group, facilitating: Membership, texts: Sequence[str], reason: str) -> None:
    """A new version: the group's own texts, then its rule sets' defaults; members accept it before posting."""
    group.agreement_version += 1
    group.save(update_fields=["agreement_version"])
    _write_agreements(group, group.agreement_version, texts)
    facilitating.accepted_version = group.agreement_version
    facilitating.save(update_fields=["accepted_version", "updated_at"])
    AgreementAcceptance.objects.create(user=facilitating.user, group=group, version=group.agreement_version)
    _record(
        facilitating,
        actor=facilitating.user,
        kind="groups.agreements.changed",
        from_state=facilitating.state,
        reason=reason or f"version {group.agreement_version}",
    )
    realtime.on_commit_group_access_changed(group_id=group.pk, notice="agreements_changed")


def update_group_settings(
    actor: User,
    group: Group,
    *,
    description: str,
    visibility: str,
    join_policy: str,
    capacity: int,
    rulesets: Sequence[str],
) -> Group:
    """A facilitator changes how the group runs.

    Choosing different moderation rule sets changes the agreements too (their defaults
    follow the group's own), so members are asked to accept the new version.
    """
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        facilitating = require_facilitator(actor, group)
        rulesets = list(dict.fromkeys([*rulesets, *TOPIC_RULESETS.get(group.topic, ())]))
        rulesets_changed = set(rulesets) != set(group.rulesets)
        group.description = description
        group.visibility = visibility
        group.join_policy = join_policy
        group.capacity = capacity
        group.rulesets = rulesets
        group.save(update_fields=["description", "visibility", "join_policy", "capacity", "rulesets"])
        _record(
            facilitating,
            actor=actor,
            kind="groups.settings.changed",
            from_state=facilitating.state,
            reason=f"{visibility}, {join_policy}, capacity {capacity}, rule sets: {', '.join(rulesets) or 'none'}",
        )
        if rulesets_changed:
            own = [agreement.text for agreement in group.current_agreements() if not agreement.rule_key]
            if not own and not rulesets:
                raise MembershipError("A group needs at least one agreement: write one, or keep a rule set.")
            _publish_agreements(group, facilitating, own, "the group's moderation rule sets changed")
    return group


# Personal boundaries ----------------------------------------------------------


def block_member(user: User, other: User) -> None:
    """From now on neither sees the other's messages, reactions or presence, and no private messages either way."""
    if user.pk == other.pk:
        raise BoundaryError("You can't block yourself.")
    with transaction.atomic():
        BlockedMember.objects.get_or_create(blocker=user, blocked=other)
        realtime.on_commit_boundaries_changed(user.pk, other.pk)


def unblock_member(user: User, other: User) -> None:
    """Lift a block; messages from now on (and history) show again."""
    with transaction.atomic():
        BlockedMember.objects.filter(blocker=user, blocked=other).delete()
        realtime.on_commit_boundaries_changed(user.pk, other.pk)


def mute_member(user: User, other: User) -> None:
    """Their messages arrive collapsed behind a tap, for me only; they are not told."""
    if user.pk == other.pk:
        raise BoundaryError("You can't mute yourself.")
    with transaction.atomic():
        MutedMember.objects.get_or_create(muter=user, muted=other)
        realtime.on_commit_boundaries_changed(user.pk)


def unmute_member(user: User, other: User) -> None:
    with transaction.atomic():
        MutedMember.objects.filter(muter=user, muted=other).delete()
        realtime.on_commit_boundaries_changed(user.pk)


def update_boundary_settings(
    user: User, *, dm_policy: str, collapsed_labels: Sequence[str], here_to_be_heard: bool
) -> BoundarySettings:
    """Save who may message me, which content warnings I collapse, and whether I'm here to be heard."""
    if dm_policy not in DirectMessagePolicy.values:
        raise BoundaryError("Please choose who may send you private message requests.")
    unknown = set(collapsed_labels) - set(ContentLabel.values)
    if unknown:
        raise BoundaryError("Please choose content warnings from the list.")
    with transaction.atomic():
        settings, _ = BoundarySettings.objects.select_for_update().get_or_create(user=user)
        settings.dm_policy = dm_policy
        settings.collapsed_labels = [label for label in ContentLabel.values if label in set(collapsed_labels)]
        settings.here_to_be_heard = here_to_be_heard
        settings.save()
        realtime.on_commit_boundaries_changed(user.pk)
    return settings


def hidden_people(user: User) -> set[int]:
    """Everyone I blocked or who blocked me."""
    from .boundaries import load_boundaries

    return set(load_boundaries(user.pk).hidden_user_ids)


def blocked_between(first_id: int, second_id: int) -> bool:
    return BlockedMember.objects.filter(
        Q(blocker_id=first_id, blocked_id=second_id) | Q(blocker_id=second_id, blocked_id=first_id)
    ).exists()


# Private messages: consent first ----------------------------------------------

DM_REQUESTS_PER_HOUR = 5
# What the sender always sees, whatever happened: it reveals nothing about the other person's choices.
DM_REQUEST_SENT = "Your request has been sent. If they accept, the conversation will appear in your messages."
DM_CLOSED = "This conversation is closed, so nothing was sent."


def people_i_share_groups_with(user: User):
    """Everyone seated in a group where I'm seated, except me: who I may ask, block or mute."""
    my_groups = Membership.objects.filter(user=user, state__in=SEATED_STATES).values("group_id")
    return (
        User.objects.filter(memberships__group_id__in=my_groups, memberships__state__in=SEATED_STATES, is_active=True)
        .exclude(pk=user.pk)
        .distinct()
        .order_by("pseudonym")
    )


def people_i_may_block(user: User):
    """Who I may block or mute: everyone I share a group with, and anyone I have a private
    conversation or a request with. Someone who wrote to me privately stays within my reach after
    either of us leaves every group we shared (they could still write in the conversation)."""
    mine = DirectMessageRequest.objects.filter(Q(from_user=user) | Q(to_user=user))
    shared = people_i_share_groups_with(user).values("pk")
    return (
        User.objects.filter(
            Q(pk__in=shared) | Q(pk__in=mine.values("from_user_id")) | Q(pk__in=mine.values("to_user_id")),
            is_active=True,
        )
        .exclude(pk=user.pk)
        .order_by("pseudonym")
    )


def _facilitates_for(sender: User, recipient: User) -> bool:
    """True if the sender facilitates a group the recipient sits in."""
    recipient_groups = Membership.objects.filter(user=recipient, state__in=SEATED_STATES).values("group_id")
    return Membership.objects.filter(
        user=sender, role=Role.FACILITATOR, state__in=SEATED_STATES, group_id__in=recipient_groups
    ).exists()


def _may_request(sender: User, recipient: User) -> bool:
    if sender.pk == recipient.pk or not recipient.is_active or blocked_between(sender.pk, recipient.pk):
        return False
    if not people_i_share_groups_with(sender).filter(pk=recipient.pk).exists():
        return False
    policy = (
        BoundarySettings.objects.filter(user=recipient).values_list("dm_policy", flat=True).first()
        or DirectMessagePolicy.ACCEPTED
    )
    if policy == DirectMessagePolicy.NOBODY:
        return False
    if policy == DirectMessagePolicy.FACILITATORS:
        return _facilitates_for(sender, recipient)
    return True


def minutes_until_free(recent: list, now, *, per_hour: int) -> int:
    """Whole minutes until one more of something limited to ``per_hour`` an hour may happen (0: now)."""
    in_window = sorted(moment for moment in recent if moment > now - timedelta(hours=1))
    if len(in_window) < per_hour:
        return 0
    free_at = in_window[len(in_window) - per_hour] + timedelta(hours=1)
    return max(1, math.ceil((free_at - now).total_seconds() / 60))


def request_direct_message(sender: User, recipient: User, note: str = "") -> str:
    """Ask someone for a private conversation. The reply is the same whatever they chose or set.

    Only a request the recipient's boundaries allow is stored; a blocked, declined or
    not-accepting person is never told why. Requests are limited per hour.
    """
    now = timezone.now()
    recent = DirectMessageRequest.objects.filter(from_user=sender, created_at__gte=now - timedelta(hours=1))
    wait = minutes_until_free(list(recent.values_list("created_at", flat=True)), now, per_hour=DM_REQUESTS_PER_HOUR)
    if wait:
        raise BoundaryError(
            f"You've sent several requests in the last hour. You can send another in about {wait} "
            f"minute{'s' if wait != 1 else ''}."
        )
    with transaction.atomic():
        if not _may_request(sender, recipient):
            # Logged without the recipient: the log must not say whose boundaries refused.
            log_refusal(sender, "not_requestable", what="groups.request_direct_message")
            return DM_REQUEST_SENT
        if DirectMessageRequest.objects.filter(from_user=recipient, to_user=sender).exists():
            # They asked me first: answering is done from my messages page, not by asking back.
            return DM_REQUEST_SENT
        try:
            with transaction.atomic():
                DirectMessageRequest.objects.create(from_user=sender, to_user=recipient, note=note[:300])
        except IntegrityError:
            pass  # already asked (perhaps declined): nothing changes, and nothing is revealed
    return DM_REQUEST_SENT


def _answer_request(user: User, request_id: int, state: str) -> DirectMessageRequest:
    with transaction.atomic():
        request = DirectMessageRequest.objects.select_for_update().filter(pk=request_id, to_user=user).first()
        # Someone else's request reads as answered too: nothing is revealed, but it is logged.
        if request is None or request.state != DirectMessageRequestState.REQUESTED:
            raise BoundaryError("This request has already been answered.", reason="" if request else "not_yours")
        request.state = state
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_at"])
    return request


def accept_direct_message_request(user: User, request_id: int) -> DirectMessageRequest:
    """The recipient says yes: the private conversation opens for both."""
    return _answer_request(user, request_id, DirectMessageRequestState.ACCEPTED)


def decline_direct_message_request(user: User, request_id: int) -> DirectMessageRequest:
    """The recipient says no. The sender is never told; their request simply stays 'sent'."""
    return _answer_request(user, request_id, DirectMessageRequestState.DECLINED)


def conversation_for(user: User, conversation_id: int) -> DirectMessageRequest | None:
    """An accepted conversation this person is one of the two people in, else None (facilitators included)."""
    return (
        DirectMessageRequest.objects.filter(pk=conversation_id, state=DirectMessageRequestState.ACCEPTED)
        .filter(Q(from_user=user) | Q(to_user=user))
        .select_related("from_user", "to_user")
        .first()
    )


def send_direct_message(user: User, conversation_id: int, body: str, *, send_anyway: bool = False) -> DirectMessage:
    """Post in an accepted private conversation, unless either person has since blocked the other.

    The group's checks that matter between two people run here too (groups.extensions, moderation's):
    contact details are asked about first (``send_anyway`` after the sender read why); crisis words
    bring the sender the support lines (``message.care_card``, read once the message is stored)."""
    body = body.strip()
    if not body:
        raise BoundaryError("Please write something before sending.")
    if len(body) > 4000:
        raise BoundaryError("That message is longer than 4,000 characters. Could you split it in two?")
    review = direct_message_reviewer().review(user, body)
    if review.ask_first and not send_anyway:
        raise AskFirst(review.ask_first)
    with transaction.atomic():
        conversation = conversation_for(user, conversation_id)
        if conversation is None or blocked_between(conversation.from_user_id, conversation.to_user_id):
            raise BoundaryError(DM_CLOSED, reason="conversation_closed")
        message = DirectMessage.objects.create(conversation=conversation, author=user, body=body)
    message.care_card = direct_message_reviewer().care_card(message)
    return message
