"""When a whole room arrives at once, those already here get a few "here now" lists, not one per
arrival, and the last one they get names everyone (chat.broadcast folds a burst of presence changes)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.broadcast import PRESENCE_BURST, PRESENCE_EVERY_SECONDS
from groups.actions import create_group, join_group
from tests.conftest import connected, make_person, socket_for

pytestmark = pytest.mark.django_db(transaction=True)

MORE_PEOPLE = ["Jordan", "Taylor", "Morgan", "Riley", "Quinn", "Avery", "Jamie", "Drew", "Kai", "Noor"]


@pytest.fixture
def session_room(db, facilitator, member, second_member):
    """ "Thursday Session": Robin facilitates; Sam, Alex and ten more are seated (thirteen people)."""
    group = create_group(
        name="Thursday Session",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        description="A big weekly session.",
        capacity=14,
    )
    group.arrivals = [member, second_member] + [make_person(name) for name in MORE_PEOPLE]
    for person in group.arrivals:
        join_group(person, group, accepted_version=1)
    return group


async def presence_frames_until_quiet(socket, quiet: float) -> list[list[str]]:
    """The names on each presence frame the socket gets until nothing arrives for ``quiet`` seconds."""
    lists = []
    while not await socket.nothing_more(quiet):
        frame = await socket.receive()
        if frame["type"] == "presence":
            lists.append(sorted(person["pseudonym"] for person in frame["here"]))
    return lists


async def test_twelve_arrivals_at_once_reach_the_facilitator_as_a_few_lists_the_last_naming_everyone(
    channel_layer, session_room, facilitator
):
    everyone = sorted(person.pseudonym for person in [facilitator, *session_room.arrivals])
    async with connected(facilitator, session_room.slug) as robin:
        sockets = [await database_sync_to_async(socket_for)(p, session_room.slug) for p in session_room.arrivals]
        try:
            opened = await asyncio.gather(*(socket.connect(timeout=10) for socket in sockets))
            assert all(is_open for is_open, _ in opened)
            # Quiet for twice the folding interval: any folded list has been sent by then.
            lists = await presence_frames_until_quiet(robin, quiet=2 * PRESENCE_EVERY_SECONDS + 0.1)
        finally:
            await asyncio.gather(*(socket.disconnect(timeout=5) for socket in sockets))

    assert lists, "the facilitator was never told who arrived"
    assert len(lists) <= PRESENCE_BURST + 2 < len(session_room.arrivals), lists
    assert lists[-1] == everyone
