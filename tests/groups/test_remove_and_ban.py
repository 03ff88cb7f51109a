"""A facilitator removes or bans a member, with a reason; the member's chat closes and a ban holds."""

import pytest
from channels.db import database_sync_to_async

from groups.actions import ban_member, ban_person, join_by_invite, join_group, lift_ban, remove_member, request_to_join
from groups.errors import MembershipError, NotAFacilitator
from groups.models import JoinPolicy, Membership, MembershipState
from tests.conftest import connected, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


def seat_of(user, group):
    return Membership.objects.get(user=user, group=group)


async def test_a_removed_members_open_chat_closes_with_membership_ended(channel_layer, group, facilitator, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(remove_member)(
            facilitator, await database_sync_to_async(seat_of)(member, group), "Repeated unkind comments."
        )
        assert await sam.closed_with() == 4409


async def test_a_banned_members_open_chat_closes_with_banned_and_cannot_reopen(
    channel_layer, group, facilitator, member, second_member
):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await database_sync_to_async(ban_member)(
            facilitator, await database_sync_to_async(seat_of)(member, group), "Harassment."
        )
        assert await sam.closed_with() == 4410
        # Only Sam's socket closes.
        assert await alex.nothing_more()
    communicator = await database_sync_to_async(socket_for)(member, group.slug)
    connected_now, _ = await communicator.connect()
    assert connected_now
    assert (await communicator.receive_output(3))["code"] == 4410


def test_every_removal_and_ban_is_recorded_with_who_and_why(group, facilitator, member, second_member):
    remove_member(facilitator, seat_of(member, group), "Asked to leave after a warning.")
    ban_member(facilitator, seat_of(second_member, group), "Threats.")
    removed = seat_of(member, group).events.first()
    banned = seat_of(second_member, group).events.first()
    assert (removed.kind, removed.actor, removed.reason, removed.from_state, removed.to_state) == (
        "groups.membership.removed",
        facilitator,
        "Asked to leave after a warning.",
        "active",
        "removed",
    )
    assert (banned.kind, banned.actor, banned.reason) == ("groups.membership.banned", facilitator, "Threats.")


def test_a_banned_person_cannot_join_ask_or_use_an_invite_until_the_ban_is_lifted(group, facilitator, member):
    ban_member(facilitator, seat_of(member, group), "Harassment.")
    with pytest.raises(MembershipError, match="can't join this group right now"):
        join_group(member, group, accepted_version=1)
    with pytest.raises(MembershipError, match="can't join this group right now"):
        join_by_invite(member, group.invite_token, accepted_version=1)
    group.join_policy = JoinPolicy.REQUEST
    group.save()
    with pytest.raises(MembershipError, match="can't join this group right now"):
        request_to_join(member, group, accepted_version=1)

    lift_ban(facilitator, seat_of(member, group), "Talked it through.")
    assert seat_of(member, group).state == MembershipState.LEFT
    assert join_by_invite(member, group.invite_token, accepted_version=1).state == MembershipState.ACTIVE


def test_someone_who_only_asked_to_join_can_be_banned(group, facilitator, outsider):
    membership = ban_person(facilitator, group, outsider, "Abusive request note.")
    assert membership.state == MembershipState.BANNED
    with pytest.raises(MembershipError):
        join_group(outsider, group, accepted_version=1)


def test_a_removed_member_may_join_again_the_usual_way(group, facilitator, member):
    remove_member(facilitator, seat_of(member, group), "Needed a pause.")
    assert join_group(member, group, accepted_version=1).state == MembershipState.ACTIVE


def test_only_a_facilitator_of_this_group_can_remove_or_ban(group, member, second_member):
    from groups.actions import create_group
    from tests.conftest import make_person

    elsewhere = make_person("Morgan")
    create_group(name="Elsewhere", facilitators=[elsewhere], agreements=["Be kind."])
    for actor in (member, elsewhere):
        with pytest.raises(NotAFacilitator):
            remove_member(actor, seat_of(second_member, group), "No.")
        with pytest.raises(NotAFacilitator):
            ban_member(actor, seat_of(second_member, group), "No.")
    assert seat_of(second_member, group).state == MembershipState.ACTIVE


def test_facilitators_cannot_remove_themselves_or_each_other(group, facilitator):
    with pytest.raises(MembershipError, match="yourself"):
        remove_member(facilitator, seat_of(facilitator, group), "Oops.")


def test_the_members_page_removes_with_a_reason_and_refuses_without_one(client, group, facilitator, member):
    client.force_login(facilitator)
    membership = seat_of(member, group)
    response = client.post(f"/groups/{group.slug}/members/{membership.pk}/remove/", {"reason": "  "}, follow=True)
    assert "Please write a short reason" in response.content.decode()
    assert seat_of(member, group).state == MembershipState.ACTIVE

    response = client.post(f"/groups/{group.slug}/members/{membership.pk}/ban/", {"reason": "Harassment."}, follow=True)
    assert "Sam has been banned from the group." in response.content.decode()
    assert seat_of(member, group).state == MembershipState.BANNED
    page = client.get(f"/groups/{group.slug}/members/").content.decode()
    assert "Lift the ban on Sam" in page
    assert "Harassment." in page  # the record of changes


def test_another_groups_facilitator_gets_403_from_the_members_page(client, group, member):
    from groups.actions import create_group
    from tests.conftest import make_person

    elsewhere = make_person("Morgan")
    create_group(name="Elsewhere", facilitators=[elsewhere], agreements=["Be kind."])
    client.force_login(elsewhere)
    membership = seat_of(member, group)
    assert client.post(f"/groups/{group.slug}/members/{membership.pk}/ban/", {"reason": "x"}).status_code == 403
    assert seat_of(member, group).state == MembershipState.ACTIVE


def test_an_unknown_member_action_finds_nothing(client, group, facilitator, member):
    client.force_login(facilitator)
    membership = seat_of(member, group)
    assert client.post(f"/groups/{group.slug}/members/{membership.pk}/promote/", {"reason": "x"}).status_code == 404
    assert seat_of(member, group).state == MembershipState.ACTIVE
