"""The server-rendered chat page applies the reader's boundaries too (it reads without JavaScript)."""

import pytest

from chat.actions import post_message
from groups.actions import block_member, mute_member, update_boundary_settings

pytestmark = pytest.mark.django_db


def test_the_chat_page_hides_blocked_people_and_folds_muted_and_labelled_messages(
    client, group, member, second_member, facilitator, outsider
):
    post_message(facilitator.pk, group.pk, client_id="r1", body="Lunch felt hard", content_warning="self_harm")
    post_message(second_member.pk, group.pk, client_id="a1", body="Alex was here")
    update_boundary_settings(member, dm_policy="accepted", collapsed_labels=["self_harm"], here_to_be_heard=False)
    update_boundary_settings(facilitator, dm_policy="accepted", collapsed_labels=[], here_to_be_heard=True)
    mute_member(member, facilitator)
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/chat/").content.decode()
    assert "Collapsed because you muted Robin." in page
    assert "here to be heard, not advised" in page
    assert "Alex was here" in page

    block_member(member, second_member)
    page = client.get(f"/groups/{group.slug}/chat/").content.decode()
    assert "Alex was here" not in page


def test_a_labelled_message_shows_the_readable_label(client, group, member, facilitator):
    post_message(facilitator.pk, group.pk, client_id="r1", body="A hard memory", content_warning="trauma_details")
    update_boundary_settings(member, dm_policy="accepted", collapsed_labels=["trauma_details"], here_to_be_heard=False)
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/chat/").content.decode()
    assert "Content warning: Details of trauma." in page
