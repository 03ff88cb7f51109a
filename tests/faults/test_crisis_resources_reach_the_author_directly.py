"""Crisis resources reach the author's own socket directly (not through Redis), exactly once,
and the author's other tabs still get them through the channel layer."""

import pytest

from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)

CRISIS = "I don't think I can keep going. I want to kill myself."


async def frames_until_pong(socket) -> list[str]:
    await socket.send({"type": "ping"})
    seen = []
    while (frame := await socket.receive())["type"] != "pong":
        seen.append(frame["type"])
    return seen


async def test_the_author_gets_resources_once_in_this_tab_and_once_in_the_other(channel_layer, group, member):
    async with connected(member, group.slug) as this_tab, connected(member, group.slug) as other_tab:
        await this_tab.send({"type": "send", "client_id": "crisis-1", "body": CRISIS})
        await this_tab.receive_until("ack")
        assert (await this_tab.receive_until("crisis_resources"))["resources"]
        assert "crisis_resources" not in await frames_until_pong(this_tab)
        assert (await other_tab.receive_until("crisis_resources"))["resources"]
        assert "crisis_resources" not in await frames_until_pong(other_tab)
