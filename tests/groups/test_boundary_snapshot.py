"""The pure boundary snapshot each socket keeps, and what loading it costs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions import post_message, recent_history
from groups.actions import block_member, mute_member, update_boundary_settings
from groups.boundaries import BoundarySnapshot, load_boundaries

SAM, ALEX, ROBIN, CASEY = 1, 2, 3, 4


def test_hidden_people_are_hidden_and_nobody_else():
    snapshot = BoundarySnapshot(user_id=SAM, hidden_user_ids=frozenset({ALEX}))
    assert snapshot.hides(ALEX)
    assert not snapshot.hides(ROBIN)
    assert not snapshot.hides(None)  # a former member's message


def test_a_mute_outranks_a_content_warning_and_my_own_messages_never_collapse():
    snapshot = BoundarySnapshot(user_id=SAM, muted_user_ids=frozenset({ALEX}), collapsed_labels=frozenset({"food"}))
    assert snapshot.collapse_reason(ALEX, "food") == "muted"
    assert snapshot.collapse_reason(ROBIN, "food") == "content_warning"
    assert snapshot.collapse_reason(ROBIN, "body") is None
    assert snapshot.collapse_reason(ROBIN, None) is None
    assert snapshot.collapse_reason(SAM, "food") is None


def test_present_leaves_the_shared_message_object_untouched():
    snapshot = BoundarySnapshot(user_id=SAM, collapsed_labels=frozenset({"food"}))
    wire = {"seq": 1, "author": {"id": ROBIN}}
    shown = snapshot.present(wire, ROBIN, "food")
    assert shown["collapsed"] == {"reason": "content_warning", "label": "food"}
    assert "collapsed" not in wire
    assert snapshot.present(wire, ROBIN, None) is wire
    assert BoundarySnapshot(user_id=SAM, hidden_user_ids=frozenset({ROBIN})).present(wire, ROBIN, None) is None


@pytest.mark.django_db
def test_loading_a_snapshot_takes_one_query_however_many_boundaries(group, member, second_member, facilitator):
    block_member(member, second_member)
    block_member(facilitator, member)  # a block made by someone else hides them too
    mute_member(member, facilitator)
    update_boundary_settings(member, dm_policy="nobody", collapsed_labels=["food", "body"], here_to_be_heard=True)
    # One union: blocks either way, my mutes, my collapsed labels
    with CaptureQueriesContext(connection) as queries:
        snapshot = load_boundaries(member.pk)
    assert len(queries) == 1
    assert snapshot.hidden_user_ids == {second_member.pk, facilitator.pk}
    assert snapshot.muted_user_ids == {facilitator.pk}
    assert snapshot.collapsed_labels == {"food", "body"}


@pytest.mark.django_db
def test_the_history_page_costs_the_same_whatever_the_boundaries_and_authors(
    group, member, second_member, facilitator, settings
):
    settings.CHAT_RATE_LIMIT = (1_000, 10)  # a long backlog written at once
    for number in range(6):
        author = (member, second_member, facilitator)[number % 3]
        post_message(author.pk, group.pk, client_id=f"m{number}", body=f"Message {number}")
    update_boundary_settings(second_member, dm_policy="accepted", collapsed_labels=[], here_to_be_heard=True)
    mute_member(member, second_member)
    snapshot = load_boundaries(member.pk)
    with CaptureQueriesContext(connection) as few:
        recent_history(member.pk, group.pk, boundaries=snapshot)
    for number in range(6, 30):
        author = (member, second_member, facilitator)[number % 3]
        post_message(author.pk, group.pk, client_id=f"m{number}", body=f"Message {number}")
    with CaptureQueriesContext(connection) as many:
        history = recent_history(member.pk, group.pk, boundaries=snapshot)
    assert len(many) == len(few)
    assert len(history["messages"]) == 30
    by_alex = [m for m in history["messages"] if m["author"]["id"] == second_member.pk]
    assert len(by_alex) == 10
    assert all(m["collapsed"]["reason"] == "muted" and m["author"]["heard_only"] for m in by_alex)
