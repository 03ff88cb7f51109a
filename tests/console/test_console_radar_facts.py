"""The radar's facts come from what the server already knows (console.radar_data): presence, attendance, replies
that touched an agreement, crisis alerts and self-kindness nudges. Never from message content.
The clock is moved by hand: every time below is set relative to a fixed noon."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Message, Presence
from console.radar_data import group_radar, radar_about
from groups.models import Agreement, LiveSession, SessionAttendance
from moderation.models import Alert, AuditEntry

pytestmark = pytest.mark.django_db

NOON = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)


def minutes_ago(n: int):
    return NOON - timedelta(minutes=n)


def said(group, author, seq: int, *, at, reply_to=None, categories=()) -> Message:
    message = Message.objects.create(
        group=group,
        seq=seq,
        author=author,
        client_id=f"m{seq}",
        body="…",
        reply_to=reply_to,
        categories=list(categories),
    )
    Message.objects.filter(pk=message.pk).update(created_at=at)
    return message


@pytest.fixture
def live_half_hour(circle, member, second_member, facilitator):
    session = LiveSession.objects.create(group=circle, opened_by=facilitator, started_at=minutes_ago(30))
    SessionAttendance.objects.create(session=session, user=member, arrived_at=minutes_ago(30))
    SessionAttendance.objects.create(
        session=session, user=second_member, arrived_at=minutes_ago(30), left_at=minutes_ago(5)
    )
    Presence.objects.create(group=circle, user=member, channel_name="sam-tab", last_seen=NOON)
    return session


def reasons_by_name(group) -> dict[str, list[str]]:
    return {
        entry.pseudonym: [concern.reason.value for concern in entry.concerns] for entry in group_radar(group, now=NOON)
    }


def test_quiet_after_a_hard_reply_and_leaving_mid_session_come_from_the_record(
    circle, member, second_member, live_half_hour
):
    sams = said(circle, member, 1, at=minutes_ago(25))
    said(circle, second_member, 2, at=minutes_ago(15), reply_to=sams, categories=["judgment"])
    assert reasons_by_name(circle) == {
        "Sam": ["quiet_after_hard_reply", "silent"],
        "Alex": ["left_abruptly"],
    }


def test_a_kind_reply_is_not_a_hard_one(circle, member, second_member, live_half_hour):
    sams = said(circle, member, 1, at=minutes_ago(25))
    said(circle, second_member, 2, at=minutes_ago(15), reply_to=sams)
    assert "quiet_after_hard_reply" not in reasons_by_name(circle)["Sam"]


def test_a_crisis_alert_and_a_self_kindness_nudge_today_are_named(circle, member, second_member, live_half_hour):
    crisis = said(circle, member, 1, at=minutes_ago(20), categories=["crisis"])
    alert = Alert.objects.create(group=circle, member=member, message=crisis, category="crisis")
    Alert.objects.filter(pk=alert.pk).update(created_at=minutes_ago(20))
    kindness = Agreement.objects.get(group=circle, version=circle.agreement_version, rule_key="self_kindness")
    AuditEntry.objects.create(
        group=circle,
        kind="moderation.message.nudged",
        target=second_member,
        agreement_number=kindness.number,
        at=minutes_ago(40),
    )
    reasons = reasons_by_name(circle)
    assert reasons["Sam"][0] == "crisis_today"
    assert reasons["Alex"][0] == "self_criticism_today"


def test_yesterdays_crisis_is_not_todays(circle, member, live_half_hour):
    alert = Alert.objects.create(group=circle, member=member, category="crisis")
    Alert.objects.filter(pk=alert.pk).update(created_at=NOON - timedelta(days=1))
    assert "crisis_today" not in reasons_by_name(circle).get("Sam", [])


def test_facilitators_are_never_on_the_radar_and_a_member_reads_only_their_own(
    circle, member, facilitator, live_half_hour
):
    Presence.objects.create(group=circle, user=facilitator, channel_name="robin-tab", last_seen=NOON)
    assert "Robin" not in reasons_by_name(circle)
    mine = radar_about(circle, member.pk, now=NOON)
    assert mine.pseudonym == "Sam" and [c.reason.value for c in mine.concerns] == ["silent"]
