"""What groups answers when accounts ask, and what it announces when a membership ends or its role changes
(connected in GroupsConfig.ready)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.html import format_html, format_html_join

from supportcircle import realtime
from supportcircle.accounts.signals import account_deletion_leaves

from .actions import groups_they_alone_facilitate
from .models import SEATED_STATES, Membership, MembershipState


@receiver(account_deletion_leaves, dispatch_uid="groups.groups_left_without_a_facilitator")
def groups_left_without_a_facilitator(sender, user, **kwargs) -> list[str]:
    """Said before the person decides: the groups they facilitate alone would be left without a facilitator."""
    alone_in = groups_they_alone_facilitate(user)
    if not alone_in:
        return []
    names = format_html_join(", ", "<strong>{}</strong>", ((group.name,) for group in alone_in))
    those = "that group's" if len(alone_in) == 1 else "those groups'"
    return [
        format_html(
            "You're the only facilitator of {}. If you delete your account, {} crisis alerts and queue will "
            "reach nobody until an administrator brings in another facilitator.",
            names,
            those,
        )
    ]


# Why a membership in each unseated state closes its sockets (the code itself is the re-check's verdict).
REVOKE_REASONS = {
    MembershipState.BANNED: realtime.RevokeReason.BANNED,
    MembershipState.REMOVED: realtime.RevokeReason.REMOVED,
    MembershipState.LEFT: realtime.RevokeReason.LEFT,
}


@receiver(post_save, sender=Membership, dispatch_uid="groups.close_sockets_when_a_seat_ends")
def close_sockets_when_a_seat_ends(sender, instance: Membership, created: bool, **kwargs) -> None:
    """A membership saved out of its seat (a ban, a removal, leaving; by an action or in the admin) closes the
    person's sockets in that group in every server process, after commit. Which states those are is the
    re-check's rule too (chat.actions.refusal_for; a test holds them to each other)."""
    if not created and instance.state not in SEATED_STATES:
        realtime.on_commit_revoke(
            user_id=instance.user_id,
            group_id=instance.group_id,
            reason=REVOKE_REASONS.get(instance.state, realtime.RevokeReason.NOT_A_MEMBER),
        )
    elif not created and getattr(instance, "role_as_loaded", None) not in (None, instance.role):
        # Made a facilitator, or no longer one (in the admin): their open sockets start or stop hearing the
        # facilitators' queue and alerts at once, and are told (chat.consumers: access_changed).
        realtime.on_commit_access_changed(user_id=instance.user_id, group_id=instance.group_id, notice="role_changed")
    instance.role_as_loaded = instance.role


@receiver(post_delete, sender=Membership, dispatch_uid="groups.close_sockets_when_a_membership_goes")
def close_sockets_when_a_membership_goes(sender, instance: Membership, **kwargs) -> None:
    """A membership deleted (in the admin, or with its group or its person) closes its sockets too."""
    realtime.on_commit_revoke(
        user_id=instance.user_id, group_id=instance.group_id, reason=realtime.RevokeReason.NOT_A_MEMBER
    )
