"""A message removed under an agreement is never delivered again: history, backfill and the page
show "removed under agreement N" instead of its words."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat.actions import post_message
from moderation.actions import hide_message
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = "Something unkind that should not be seen again."


def post_and_hide(circle, member, facilitator) -> int:
    seq = post_message(member.pk, circle.pk, client_id="gone-1", body=WORDS).message.seq
    post_message(member.pk, circle.pk, client_id="after-1", body="And something else.")
    hide_message(facilitator, circle, seq=seq, agreement_number=3)
    return seq


async def test_history_and_backfill_carry_only_the_tombstone(channel_layer, circle, member, second_member, facilitator):
    seq = await database_sync_to_async(post_and_hide)(circle, member, facilitator)
    for query in ("", "last_seq=0"):
        async with connected(second_member, circle.slug, query=query) as alex:
            removed = next(m for m in alex.history["messages"] if m["seq"] == seq)
            assert (removed["state"], removed["body"], removed["removed_agreement"]) == (
                "removed_under_agreement",
                "",
                3,
            )
            await alex.send({"type": "backfill", "after_seq": 0})
            again = await alex.receive_until("history")
            assert WORDS not in str(again)
            assert WORDS not in str(alex.history)


async def test_not_even_its_author_receives_the_words_again(channel_layer, circle, member, facilitator):
    await database_sync_to_async(post_and_hide)(circle, member, facilitator)
    async with connected(member, circle.slug) as sam:
        assert WORDS not in str(sam.history)


def test_the_chat_page_shows_removed_under_agreement_n(circle, member, second_member, facilitator):
    post_and_hide(circle, member, facilitator)
    client = Client()
    client.force_login(second_member)
    page = client.get(f"/groups/{circle.slug}/chat/").content.decode()
    assert WORDS not in page
    assert "Removed under agreement 3." in page
