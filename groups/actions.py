"""Every change to groups and membership, one function each.

Each action runs in one transaction, records who did what and why, and only
tells open sockets about it after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils.text import slugify

from chat import broadcast
from supportcircle.accounts.models import User

from .errors import MembershipError
from .models import (
    SEATED_STATES,
    Agreement,
    AgreementAcceptance,
    Group,
    JoinPolicy,
    Membership,
    MembershipEvent,
    MembershipState,
    Role,
)


def _record(membership: Membership, *, actor: User | None, kind: str, from_state: str, reason: str = "") -> None:
    MembershipEvent.objects.create(
        membership=membership,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=membership.state,
        reason=reason,
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
    """A new group with its first version of shared agreements and its facilitators."""
    if not facilitators:
        raise MembershipError("A group needs at least one facilitator.")
    group = Group.objects.create(
        slug=slug or slugify(name),
        name=name,
        description=description,
        topic=topic,
        capacity=capacity,
        join_policy=join_policy,
        rulesets=list(rulesets),
        agreement_version=1,
    )
    for number, item in enumerate(agreements, start=1):
        text, rule_key = (item, "") if isinstance(item, str) else item
        Agreement.objects.create(group=group, version=1, number=number, text=text, rule_key=rule_key)
    for facilitator in facilitators:
        membership = Membership.objects.create(
            user=facilitator, group=group, role=Role.FACILITATOR, state=MembershipState.ACTIVE, accepted_version=1
        )
        AgreementAcceptance.objects.create(user=facilitator, group=group, version=1)
        _record(membership, actor=facilitator, kind="groups.membership.facilitating", from_state="")
    return group


def join_group(user: User, group: Group, *, accepted_version: int) -> Membership:
    """The member accepts the group's current agreements and takes a seat.

    The acceptance is recorded with the agreement version they read. The group
    row is locked first, so two people racing for the last seat cannot both win.
    """
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        if accepted_version != group.agreement_version:
            raise MembershipError(
                "The agreements changed while you were reading them. Please read the new version and accept it."
            )
        membership = Membership.objects.select_for_update().filter(user=user, group=group).first()
        from_state = membership.state if membership else ""
        if membership and membership.state == MembershipState.BANNED:
            raise MembershipError(
                "You can't join this group right now. If you think this is a mistake, please contact the facilitators."
            )
        if membership and membership.state in SEATED_STATES:
            return membership
        if group.join_policy == JoinPolicy.REQUEST and not (membership and membership.role == Role.FACILITATOR):
            raise MembershipError("This group asks you to request a place; a facilitator will look at it soon.")
        seated = Membership.objects.filter(group=group, role=Role.MEMBER, state__in=SEATED_STATES).count()
        if seated >= group.capacity:
            raise MembershipError("This group is full at the moment. You're welcome to try again later.")
        if membership is None:
            membership = Membership(user=user, group=group, role=Role.MEMBER)
        membership.state = MembershipState.ACTIVE
        membership.accepted_version = group.agreement_version
        membership.save()
        AgreementAcceptance.objects.create(user=user, group=group, version=group.agreement_version)
        _record(membership, actor=user, kind="groups.membership.joined", from_state=from_state)
    return membership


def leave_group(user: User, group: Group) -> Membership:
    """The member leaves; their open sockets for this group close."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(user=user, group=group)
        if membership.state not in SEATED_STATES:
            return membership
        from_state = membership.state
        membership.state = MembershipState.LEFT
        membership.save(update_fields=["state", "updated_at"])
        _record(membership, actor=user, kind="groups.membership.left", from_state=from_state)
        broadcast.on_commit_revoke(user_id=user.pk, group_id=group.pk, reason="left")
    return membership
