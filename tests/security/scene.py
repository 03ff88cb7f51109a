"""Real values for every URL parameter, so generated views render their real pages."""

from __future__ import annotations

import datetime

from django.utils import timezone

from groups.models import (
    DirectMessage,
    DirectMessageRequest,
    DirectMessageRequestState,
    LiveSession,
    Membership,
    SessionSchedule,
)
from moderation.models import Alert
from safeguarding.models import AlertCase


def url_values(group, member, second_member, facilitator) -> dict[str, object]:
    """A group with a finished live session, and an accepted private conversation between Sam and Alex (both wrote)."""
    conversation = DirectMessageRequest.objects.create(
        from_user=member, to_user=second_member, state=DirectMessageRequestState.ACCEPTED
    )
    DirectMessage.objects.create(conversation=conversation, author=member, body="Just between us: thank you.")
    reply = DirectMessage.objects.create(conversation=conversation, author=second_member, body="Any time.")
    session = LiveSession.objects.create(
        group=group, opened_by=facilitator, started_at=timezone.now(), ended_at=timezone.now()
    )
    schedule = SessionSchedule.objects.create(group=group, weekday=0, start_time=datetime.time(18, 0))
    # A crisis alert about Sam, waiting for someone to take it: Robin (the group's facilitator) or an operator.
    alert = Alert.objects.create(group=group, member=member, category="crisis")
    case = AlertCase.objects.create(alert=alert, group=group, raised_at=timezone.now(), next_step_at=timezone.now())
    return {
        "slug": group.slug,
        "schedule_id": schedule.pk,
        "token": group.invite_token,
        "membership_id": Membership.objects.get(user=second_member, group=group).pk,
        "verb": "remove",
        "session_id": session.pk,
        "chart": "attendance",
        "fmt": "csv",
        "conversation_id": conversation.pk,
        "request_id": conversation.pk,
        "direct_message_id": reply.pk,  # Alex's reply: Sam may report it
        "uidb64": "MQ",
        "case_id": case.pk,
    }
