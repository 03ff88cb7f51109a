"""History pages are read in plain SQL (chat.pages); each message must read exactly as the model says it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import history_after, post_message, react_to_message, recent_history
from chat.models import Message, MessageState
from chat.pages import wire_page
from groups.actions import block_member, join_group, mute_member, update_boundary_settings
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
    # 1 the reader's boundaries (blocks, mutes, labels), the membership with the group's last seq, the page
    # and its reactions, in one statement
    assert len(one.captured_queries) == len(fifty.captured_queries) == 1


def test_boundaries_read_with_the_page_shape_it_as_the_sockets_snapshot_does(
    group, facilitator, member, second_member, outsider
):
    join_group(outsider, group, accepted_version=1)
    block_member(member, second_member)  # Sam blocks Alex
    block_member(outsider, member)  # Casey blocks Sam: hidden from Sam all the same
    mute_member(member, facilitator)  # Robin's words arrive folded for Sam
    update_boundary_settings(member, dm_policy="accepted", collapsed_labels=["trauma_details"], here_to_be_heard=False)
    post_message(second_member.pk, group.pk, client_id="1", body="From Alex")
    post_message(outsider.pk, group.pk, client_id="2", body="From Casey")
    post_message(facilitator.pk, group.pk, client_id="3", body="From Robin")
    post_message(member.pk, group.pk, client_id="4", body="Answering Alex", reply_to=1)
    post_message(member.pk, group.pk, client_id="5", body="My own heavy day", content_warning="trauma_details")
    react_to_message(second_member.pk, group.pk, seq=3, kind="sending_care", on=True)
    react_to_message(member.pk, group.pk, seq=3, kind="i_hear_you", on=True)

    snapshot = load_boundaries(member.pk)
    latest = recent_history(member.pk, group.pk)
    assert latest == recent_history(member.pk, group.pk, boundaries=snapshot)
    assert history_after(member.pk, group.slug, 0) == history_after(member.pk, group.pk, 0, boundaries=snapshot)
    assert [m["seq"] for m in latest["messages"]] == [3, 4, 5]
    robin, answer, own = latest["messages"]
    assert robin["collapsed"]["reason"] == "muted"
    assert [r["user"]["id"] for r in robin["reactions"]] == [member.pk]
    assert answer["reply_to"]["withheld"] is True and answer["reply_to"]["excerpt"] == ""
    assert "collapsed" not in own
    # Nobody else's boundaries: Alex reads everything but Sam's words (Sam blocked Alex).
    assert [m["seq"] for m in recent_history(second_member.pk, group.pk)["messages"]] == [1, 2, 3]


def test_an_empty_conversation_reads_with_its_boundaries_as_one_with_messages(group, member, second_member):
    block_member(member, second_member)
    with CaptureQueriesContext(connection) as seen:
        page = recent_history(member.pk, group.slug)
    assert (page["messages"], page["through_seq"], len(seen.captured_queries)) == ([], 0, 1)
