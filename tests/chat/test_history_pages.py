"""History pages are read in plain SQL (chat.pages); each message must read exactly as the model says it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import post_message, react_to_message, recent_history
from chat.models import Message, MessageState
from chat.pages import wire_page
from groups.actions import update_boundary_settings
from groups.boundaries import load_boundaries
from groups.models import wants_to_be_heard

pytestmark = pytest.mark.django_db


def as_the_model_says(message: Message) -> dict:
    """What the chat sent before history was read in plain SQL: the model's own wire form."""
    message.loaded_reactions = list(message.reactions.select_related("user"))
    wire = message.to_wire()
    if message.author is not None and wants_to_be_heard(message.author):
        wire["author"]["heard_only"] = True
    return wire


def test_every_kind_of_message_reads_as_the_model_says(group, facilitator, member, second_member):
    post_message(member.pk, group.pk, client_id="1", body="Morning, everyone.")
    post_message(second_member.pk, group.pk, client_id="2", body="Morning, Sam.", reply_to=1)
    post_message(member.pk, group.pk, client_id="3", body="A heavy day", content_warning="trauma_details")
    react_to_message(second_member.pk, group.pk, seq=1, kind="sending_care", on=True)
    react_to_message(facilitator.pk, group.pk, seq=1, kind="i_hear_you", on=True)
    update_boundary_settings(second_member, dm_policy="accepted", collapsed_labels=[], here_to_be_heard=True)
    post_message(second_member.pk, group.pk, client_id="4", body="Just listening today.")
    Message.objects.filter(seq=3).update(edited_at=timezone.now(), pinned_at=timezone.now())
    Message.objects.filter(seq=4).update(state=MessageState.REMOVED_UNDER_AGREEMENT, removed_agreement_number=2)
    post_message(member.pk, group.pk, client_id="5", body="Replying to something removed", reply_to=4)
    second_member.delete()  # a former member: their words stay, without a name

    expected = [as_the_model_says(m) for m in Message.objects.filter(group=group).order_by("seq")]
    boundaries = load_boundaries(facilitator.pk)
    assert wire_page(group.pk, boundaries, after_seq=0, limit=50) == expected
    assert wire_page(group.pk, boundaries, newest=True, limit=3) == expected[-3:]
    assert wire_page(group.pk, boundaries, after_seq=2, limit=2) == expected[2:4]


def test_a_history_page_costs_the_same_queries_for_one_message_or_fifty(group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    post_message(member.pk, group.pk, client_id="first", body="Hello")
    with CaptureQueriesContext(connection) as one:
        recent_history(second_member.pk, group.pk)
    for number in range(49):
        author = member if number % 2 else second_member
        post_message(author.pk, group.pk, client_id=f"m{number}", body=f"Note {number}")
        react_to_message(member.pk, group.pk, seq=number + 1, kind="sending_care", on=True)
    with CaptureQueriesContext(connection) as fifty:
        page = recent_history(second_member.pk, group.pk)
    assert len(page["messages"]) == 50
    # 1 the boundaries (blocks, mutes, labels), 2 the membership with the group's last seq, the page and its
    # reactions, in one statement
    assert len(one.captured_queries) == len(fifty.captured_queries) == 2
