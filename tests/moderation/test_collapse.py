"""Diet talk in an eating-disorder-safe group posts collapsed behind a content warning, and is logged."""

import pytest
from channels.db import database_sync_to_async

from moderation.models import AuditEntry
from tests.conftest import connected
from tests.moderation.scene import agreement, send

pytestmark = pytest.mark.django_db(transaction=True)


async def test_diet_talk_posts_behind_a_food_content_warning(channel_layer, circle, member, second_member):
    no_diet = await database_sync_to_async(agreement)(circle, "no_diet_talk")
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("diet-1", "I skipped lunch and did keto all week."))
        ack = await sam.receive_until("ack")
        assert ack["message"]["content_warning"] == "food"
        seen = (await alex.receive_until("message"))["message"]
        assert seen["seq"] == ack["message"]["seq"]
        assert seen["content_warning"] == "food"

    entry = await database_sync_to_async(AuditEntry.objects.get)(group=circle)
    assert entry.kind == "moderation.message.collapsed"
    assert entry.agreement_number == no_diet.number
    assert "keto" not in entry.note  # the log never holds what was said


async def test_an_authors_own_content_warning_is_kept(channel_layer, circle, member):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("diet-2", "I skipped lunch again today.", content_warning="body"))
        ack = await sam.receive_until("ack")
        assert ack["message"]["content_warning"] == "body"
