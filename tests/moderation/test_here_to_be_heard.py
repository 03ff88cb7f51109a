"""Gentle advice in reply to someone who asked to be heard, not advised, gets a nudge; the same words to
anyone else post as written."""

import pytest

from chat.actions import Posted, Withheld, post_message
from groups.actions import update_boundary_settings

pytestmark = pytest.mark.django_db

GENTLE_ADVICE = "Maybe try journaling before bed."


def test_a_reply_to_someone_here_to_be_heard_is_nudged(circle, member, second_member):
    update_boundary_settings(second_member, dm_policy="accepted", collapsed_labels=[], here_to_be_heard=True)
    seq = post_message(second_member.pk, circle.pk, client_id="h-1", body="I can't sleep again.").message.seq
    reply = post_message(member.pk, circle.pk, client_id="h-2", body=GENTLE_ADVICE, reply_to=seq)
    assert isinstance(reply, Withheld)
    assert reply.frame["type"] == "nudge"
    assert reply.frame["suggestion"]


def test_the_same_words_to_someone_else_post_as_written(circle, member, second_member):
    seq = post_message(second_member.pk, circle.pk, client_id="h-3", body="I can't sleep again.").message.seq
    reply = post_message(member.pk, circle.pk, client_id="h-4", body=GENTLE_ADVICE, reply_to=seq)
    assert isinstance(reply, Posted)
    assert reply.message.body == GENTLE_ADVICE
