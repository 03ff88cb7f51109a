"""What groups answers when accounts ask (connected in GroupsConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils.html import format_html, format_html_join

from supportcircle.accounts.signals import account_deletion_leaves

from .actions import groups_they_alone_facilitate


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
