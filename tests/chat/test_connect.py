import pytest
from channels.db import database_sync_to_async

from chat.actions import post_message
from chat.protocol import CloseCode
from groups.models import Membership, MembershipState
from tests.conftest import connected, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


async def refused_with(user, slug) -> int:
    communicator = await database_sync_to_async(socket_for)(user, slug)
    is_open, _ = await communicator.connect()
    assert is_open  # accepted only to be closed with a code the client understands
    output = await communicator.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    await communicator.wait()
    return output["code"]


async def test_an_anonymous_socket_is_refused(channel_layer, group):
    assert await refused_with(None, group.slug) == CloseCode.NOT_LOGGED_IN


async def test_an_outsider_is_refused(channel_layer, group, outsider):
    assert await refused_with(outsider, group.slug) == CloseCode.NOT_A_MEMBER


async def test_someone_who_only_asked_to_join_is_refused(channel_layer, group, outsider):
    await database_sync_to_async(Membership.objects.create)(user=outsider, group=group, state=MembershipState.REQUESTED)
    assert await refused_with(outsider, group.slug) == CloseCode.NOT_A_MEMBER


async def test_a_banned_member_is_refused_with_the_ban_code(channel_layer, group, member):
    await database_sync_to_async(Membership.objects.filter(user=member).update)(state=MembershipState.BANNED)
    assert await refused_with(member, group.slug) == CloseCode.BANNED


async def test_an_unknown_group_is_refused(channel_layer, member):
    assert await refused_with(member, "no-such-group") == CloseCode.GROUP_NOT_FOUND


async def test_a_member_is_greeted_with_the_last_fifty_messages(channel_layer, group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)  # one author writes the whole backlog here
    for number in range(1, 61):
        await database_sync_to_async(post_message)(
            second_member.pk, group.pk, client_id=f"c{number}", body=f"Thought number {number}"
        )
    async with connected(member, group.slug) as socket:
        assert socket.ready["me"]["pseudonym"] == "Sam"
        assert socket.ready["latest_seq"] == 60
        assert socket.ready["can_post"] is True
        seqs = [message["seq"] for message in socket.history["messages"]]
        assert seqs == list(range(11, 61))
        assert socket.history["messages"][-1]["body"] == "Thought number 60"
        assert socket.history["messages"][-1]["author"]["pseudonym"] == "Alex"
        assert await socket.nothing_more()
