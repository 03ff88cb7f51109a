"""The console is for the group's facilitators only: a member, a facilitator of another group and an
outsider are refused the page, and a facilitator of another group is refused the group's socket too."""

import pytest
from channels.db import database_sync_to_async

from chat.protocol import CloseCode
from groups.actions import create_group
from tests.conftest import PASSWORD, make_person, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_facilitator(db):
    """Morgan facilitates another group, not Quiet Harbour."""
    morgan = make_person("Morgan")
    create_group(name="After the Storm", facilitators=[morgan], agreements=["We go gently."])
    return morgan


def test_the_facilitator_sees_the_console_with_every_control(client, group, facilitator):
    client.login(username=facilitator.pseudonym, password=PASSWORD)
    page = client.get(f"/groups/{group.slug}/console/").content.decode()
    for control in (
        "Open the session",
        "Lock joins",
        "Start a check-in round",
        "Start a gratitude round",
        "Start a listening circle",
        "Slow mode",
        "Pause the chat",
        "Start pause &amp; breathe",
        "Needs you",
        "Wellbeing radar",
    ):
        assert control in page, control
    assert "<script>" not in page and "onclick" not in page  # no inline JS (CSP)
    assert 'data-ws-path="/ws/groups/quiet-harbour/"' in page


@pytest.mark.parametrize("who", ["member", "other_facilitator", "outsider"])
def test_everyone_else_is_refused_the_console(client, group, who, request):
    person = request.getfixturevalue(who)
    client.login(username=person.pseudonym, password=PASSWORD)
    assert client.get(f"/groups/{group.slug}/console/").status_code == 403


def test_a_visitor_who_is_not_logged_in_is_asked_to_log_in(client, group):
    response = client.get(f"/groups/{group.slug}/console/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


async def test_a_facilitator_of_another_group_is_refused_the_socket(channel_layer, group, other_facilitator):
    communicator = await database_sync_to_async(socket_for)(other_facilitator, group.slug)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_output(3)) == {"type": "websocket.close", "code": int(CloseCode.NOT_A_MEMBER)}
    await communicator.disconnect()


async def test_a_member_is_refused_every_console_control(channel_layer, group, member):
    from tests.conftest import connected
    from tests.moderation.scene import nothing_more

    async with connected(member, group.slug) as sam:
        for frame in (
            {"type": "session", "action": "open"},
            {"type": "lock_joins", "locked": True},
            {"type": "breathe", "seconds": 60},
            {"type": "radar"},
            {"type": "check_in_with", "member": member.pk, "message": "Hello"},
            {"type": "round_open", "kind": "checkin"},
            {"type": "room_settings", "paused": True},
            {"type": "circle", "on": True},
        ):
            await sam.send(frame)
            error = await sam.receive_until("error")
            assert error["code"] == "facilitators_only", frame
            assert error["message"] == "Only the group's facilitators can do that."
        assert await nothing_more(sam) == []
