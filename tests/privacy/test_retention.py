"""A group's agreement sets how long its transcript is kept; a scheduled command purges on time."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat.actions import post_message
from chat.models import Message
from chat.retention import purge_expired_transcripts

pytestmark = pytest.mark.django_db


def post_days_ago(group, author, days: int, body: str) -> None:
    post_message(author.pk, group.pk, client_id=body, body=body)
    Message.objects.filter(client_id=body).update(created_at=timezone.now() - timedelta(days=days))


def test_messages_older_than_the_agreed_retention_are_purged_and_newer_ones_kept(group, member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    group.transcript_retention_days = 30
    group.save(update_fields=["transcript_retention_days"])
    post_days_ago(group, member, 31, "from last month")
    post_days_ago(group, member, 29, "from this month")

    call_command("purge_expired")

    assert list(Message.objects.filter(group=group).values_list("body", flat=True)) == ["from this month"]


def test_a_group_without_a_retention_keeps_its_transcript(group, member):
    post_days_ago(group, member, 400, "an old memory")
    assert purge_expired_transcripts() == {}
    assert Message.objects.filter(group=group).count() == 1


def test_purging_is_on_time_not_early(group, member):
    group.transcript_retention_days = 7
    group.save(update_fields=["transcript_retention_days"])
    post_days_ago(group, member, 0, "today")
    assert purge_expired_transcripts(now=timezone.now() + timedelta(days=6)) == {}
    assert purge_expired_transcripts(now=timezone.now() + timedelta(days=8)) == {group.slug: 1}
