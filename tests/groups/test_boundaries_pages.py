"""The boundaries settings page: DM policy, collapsed content warnings, here-to-be-heard, block and mute lists."""

import pytest

from groups.models import BlockedMember, BoundarySettings, MutedMember

pytestmark = pytest.mark.django_db


def test_saving_my_boundaries(client, group, member):
    client.force_login(member)
    page = client.get("/settings/boundaries/").content.decode()
    assert "Content I want collapsed behind a tap" in page
    assert '<label for="id_collapsed_labels_0" class="inline">Food</label>' in page
    response = client.post(
        "/settings/boundaries/",
        {"dm_policy": "facilitators", "collapsed_labels": ["food", "body"], "here_to_be_heard": "on"},
        follow=True,
    )
    assert "Your boundaries are saved" in response.content.decode()
    settings = BoundarySettings.objects.get(user=member)
    assert (settings.dm_policy, settings.collapsed_labels, settings.here_to_be_heard) == (
        "facilitators",
        ["food", "body"],
        True,
    )


def test_an_unknown_label_or_policy_is_a_form_error_and_nothing_changes(client, group, member):
    client.force_login(member)
    response = client.post("/settings/boundaries/", {"dm_policy": "everyone", "collapsed_labels": ["gore"]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert not BoundarySettings.objects.filter(user=member).exists()


def test_blocking_and_muting_someone_i_share_a_group_with_and_undoing_it(client, group, member, second_member):
    client.force_login(member)
    page = client.get("/settings/boundaries/").content.decode()
    assert "Alex" in page
    response = client.post("/settings/boundaries/block/", {"person": second_member.pk}, follow=True)
    assert "You&#x27;ve blocked Alex" in response.content.decode()
    assert "Unblock Alex" in response.content.decode()
    assert BlockedMember.objects.filter(blocker=member, blocked=second_member).exists()
    client.post("/settings/boundaries/mute/", {"person": second_member.pk})
    assert MutedMember.objects.filter(muter=member, muted=second_member).exists()

    client.post("/settings/boundaries/unblock/", {"person": second_member.pk})
    client.post("/settings/boundaries/unmute/", {"person": second_member.pk})
    assert not BlockedMember.objects.exists() and not MutedMember.objects.exists()


def test_i_cannot_block_someone_i_share_no_group_with_or_myself(client, group, member, outsider):
    client.force_login(member)
    response = client.post("/settings/boundaries/block/", {"person": outsider.pk}, follow=True)
    assert "Please choose someone from the list." in response.content.decode()
    client.post("/settings/boundaries/block/", {"person": member.pk})
    assert not BlockedMember.objects.exists()


def test_the_page_asks_an_anonymous_visitor_to_log_in(client):
    response = client.get("/settings/boundaries/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
