"""What moderation does when apps below it announce a change (connected in ModerationConfig.ready)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from groups.actions import groups_they_alone_facilitate
from supportcircle.accounts.signals import account_deleting

from .models import AuditEntry

log = logging.getLogger(__name__)

# In each group whose only active facilitator deleted their account, for the administrators (audit log, logs).
NO_FACILITATOR_LEFT = "groups.facilitator.none_left"


@receiver(account_deleting, dispatch_uid="moderation.note_groups_left_without_a_facilitator")
def note_groups_left_without_a_facilitator(sender, user, **kwargs) -> None:
    """A group this person facilitated alone is left without a facilitator until an administrator brings one
    in: its audit log says so (with no name) and the logs carry a warning, so the administrators learn it."""
    for group in groups_they_alone_facilitate(user):
        AuditEntry.objects.create(
            group=group,
            kind=NO_FACILITATOR_LEFT,
            note="The only active facilitator deleted their account. "
            "Crisis alerts and the queue reach nobody until an administrator brings in another facilitator.",
        )
        transaction.on_commit(lambda group_id=group.pk: _warn(group_id))


def _warn(group_id: int) -> None:
    log.warning(
        "group %s has no active facilitator: its only one deleted their account; "
        "crisis alerts there reach nobody until an administrator brings one in",
        group_id,
    )
