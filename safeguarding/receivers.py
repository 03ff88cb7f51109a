"""What safeguarding does when moderation announces an alert (connected in SafeguardingConfig.ready).

Both run inside moderation's transaction, so the case is stored with its alert or not at all."""

from __future__ import annotations

from django.dispatch import receiver

from moderation.signals import alert_acknowledged, alert_raised

from . import actions


@receiver(alert_raised, dispatch_uid="safeguarding.open_case")
def open_case(sender, alert, has_active_facilitator: bool, **kwargs) -> None:
    actions.open_case(alert, has_active_facilitator=has_active_facilitator)


@receiver(alert_acknowledged, dispatch_uid="safeguarding.note_acknowledged")
def note_acknowledged(sender, alert, actor, **kwargs) -> None:
    actions.note_acknowledged(alert, actor)
