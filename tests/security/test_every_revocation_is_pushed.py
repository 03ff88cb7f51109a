"""Every way a socket's right to stay open ends is pushed to it at once: the periodic re-check is only a backstop.

One scene per way. The socket is idle (no frame in, no delivery out) and its periodic re-check is an
hour away, so nothing but the push can close it: its closing at all shows the push arrived, on the
in-memory layer and through the real Redis. The code it closes with is the re-check's own verdict
(chat.recheck.verdicts), asked for when the push arrives, so a push and a re-check never disagree.
The only thing not pushed is a session reaching its natural expiry: the re-check catches that.
"""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat import layer_watch
from chat.actions import refusal_for
from chat.protocol import CloseCode
from groups.actions import ban_member, ban_person, leave_group, pause_membership, remove_member
from groups.models import SEATED_STATES, Group, Membership, MembershipState, Role
from supportcircle.accounts import sessions
from supportcircle.accounts.actions import delete_account
from supportcircle.realtime import Event, on_commit_to_facilitators
from tests.conftest import connected
from tests.security.test_socket_revocation import logged_in_client, open_socket_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_periodic_recheck_for_an_hour(monkeypatch):
    monkeypatch.setattr(sessions, "RECHECK_SECONDS", 3600)


def seat_of(user, group) -> Membership:
    return Membership.objects.get(user=user, group=group)


def as_in_the_admin(user, group, state) -> None:
    """A staff member changes the membership's state in the admin: a plain save, no action."""
    membership = seat_of(user, group)
    membership.state = state
    membership.save()


async def test_a_ban_closes_the_socket(channel_layer, group, facilitator, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(lambda: ban_member(facilitator, seat_of(member, group), "Harassment."))()
        assert await sam.closed_with() == CloseCode.BANNED


async def test_banning_a_person_closes_the_socket(channel_layer, group, facilitator, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(ban_person)(facilitator, group, member, "Harassment.")
        assert await sam.closed_with() == CloseCode.BANNED


async def test_a_removal_closes_the_socket(channel_layer, group, facilitator, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(lambda: remove_member(facilitator, seat_of(member, group), "Unkind."))()
        assert await sam.closed_with() == CloseCode.MEMBERSHIP_ENDED


async def test_leaving_closes_the_socket(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(leave_group)(member, group)
        assert await sam.closed_with() == CloseCode.MEMBERSHIP_ENDED


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (MembershipState.BANNED, CloseCode.BANNED),
        (MembershipState.REMOVED, CloseCode.MEMBERSHIP_ENDED),
        (MembershipState.LEFT, CloseCode.MEMBERSHIP_ENDED),
        (MembershipState.DECLINED, CloseCode.NOT_A_MEMBER),
    ],
    ids=lambda value: str(value),
)
async def test_a_membership_ended_in_the_admin_closes_the_socket(channel_layer, group, member, state, code):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(as_in_the_admin)(member, group, state)
        assert await sam.closed_with() == code


async def test_a_membership_deleted_in_the_admin_closes_the_socket(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(lambda: seat_of(member, group).delete())()
        assert await sam.closed_with() == CloseCode.NOT_A_MEMBER


async def test_deleting_the_group_closes_every_socket_in_it(channel_layer, group, facilitator, member, second_member):
    async with (
        connected(member, group.slug) as sam,
        connected(second_member, group.slug) as alex,
        connected(facilitator, group.slug) as robin,
    ):
        await database_sync_to_async(lambda: Group.objects.get(pk=group.pk).delete())()
        for socket in (sam, alex, robin):
            assert await socket.closed_with() == CloseCode.NOT_A_MEMBER


async def test_a_break_keeps_the_socket_open_and_says_so(channel_layer, group, member):
    """Pausing is not an ending: the chat stays readable, and the socket hears that posting paused."""
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(pause_membership)(member, group)
        notice = await sam.receive_until("notice")
        assert notice["code"] == "taking_a_break"
        assert notice["can_post"] is False
        assert await sam.nothing_more()


async def test_logging_out_closes_that_browsers_socket(channel_layer, group, member):
    browser = await database_sync_to_async(logged_in_client)(member)
    socket = await open_socket_for(browser, group.slug)
    await database_sync_to_async(browser.post)("/accounts/logout/")
    assert await socket.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_a_password_change_closes_every_socket_of_the_person(channel_layer, group, another_group, member):
    def join_another_group() -> None:
        Membership.objects.create(user=member, group=another_group, state=MembershipState.ACTIVE, accepted_version=1)

    await database_sync_to_async(join_another_group)()
    async with connected(member, group.slug) as here, connected(member, another_group.slug) as there:

        def reset_password() -> None:  # a reset by email link, or set in the admin: set_password, then save
            member.set_password("a-new-calm-password-77")
            member.save()

        await database_sync_to_async(reset_password)()
        assert await here.closed_with() == CloseCode.NOT_LOGGED_IN
        assert await there.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_deactivation_closes_the_socket(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        member.is_active = False
        await database_sync_to_async(member.save)()
        assert await sam.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_deleting_ones_account_closes_the_socket(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(delete_account)(member)
        assert await sam.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_an_account_deleted_in_the_admin_closes_the_socket(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(lambda: type(member).objects.get(pk=member.pk).delete())()
        assert await sam.closed_with() == CloseCode.NOT_LOGGED_IN


async def test_a_revocation_that_no_longer_holds_when_it_arrives_closes_nothing(channel_layer, group, member):
    """The push only says "look again": the verdict decides, so a member already back in their seat stays."""
    async with connected(member, group.slug) as sam:
        layer = get_channel_layer()
        await layer.group_send(
            f"user.{member.pk}", {"type": Event.ACCESS_REVOKED.value, "group_id": group.pk, "reason": "left"}
        )
        await sam.send({"type": "ping"})
        assert (await sam.receive())["type"] == "pong"


async def test_after_a_layer_gap_every_socket_is_rechecked_at_once(channel_layer, group, member, second_member):
    """What was pushed while Redis was away never arrives: when the layer comes back (chat.layer_watch)
    every socket of the process re-checks, so a revocation lost in the gap closes its socket now."""
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await database_sync_to_async(Membership.objects.filter(user=member, group=group).update)(
            state=MembershipState.BANNED  # written, and its push lost
        )
        await get_channel_layer().group_send(layer_watch.PROCESS_GROUP, layer_watch.RECONNECTED_EVENT)
        assert await sam.closed_with() == CloseCode.BANNED
        assert (await alex.receive_until("pong"))["type"] == "pong"  # the catch-up pong, still open


def test_the_states_that_push_a_revocation_are_those_the_verdict_refuses():
    """groups pushes for a membership that left its seat; the re-check's refusal_for decides: they agree."""
    for state in MembershipState:
        assert (refusal_for(state) is not None) == (state not in SEATED_STATES)


def make_role(user, group, role) -> None:
    """An administrator changes the person's role in the admin: a plain save, no action."""
    membership = seat_of(user, group)
    membership.role = role
    membership.save()


async def test_a_facilitator_made_a_member_stops_hearing_the_facilitators_queue(channel_layer, group, facilitator):
    def tell_the_facilitators(text: str) -> None:
        on_commit_to_facilitators(group.pk, {"type": "queue.item", "text": text})

    async with connected(facilitator, group.slug) as robin:
        await database_sync_to_async(tell_the_facilitators)("Before")
        assert (await robin.receive_until("queue.item"))["text"] == "Before"

        await database_sync_to_async(make_role)(facilitator, group, Role.MEMBER)
        notice = await robin.receive_until("notice")
        assert notice["code"] == "role_changed"
        assert "Reload the page" in notice["message"]

        await database_sync_to_async(tell_the_facilitators)("After")
        assert await robin.nothing_more(timeout=0.5)


async def test_a_member_made_a_facilitator_starts_hearing_the_queue_at_once(channel_layer, group, member):
    async with connected(member, group.slug) as sam:
        await database_sync_to_async(make_role)(member, group, Role.FACILITATOR)
        assert (await sam.receive_until("notice"))["code"] == "role_changed"
        await database_sync_to_async(on_commit_to_facilitators)(group.pk, {"type": "queue.item", "text": "Welcome"})
        assert (await sam.receive_until("queue.item"))["text"] == "Welcome"


def test_saving_a_membership_without_changing_its_role_tells_nobody(group, member, django_capture_on_commit_callbacks):
    membership = seat_of(member, group)
    with django_capture_on_commit_callbacks() as callbacks:
        membership.accepted_version = 1
        membership.save()
    assert callbacks == []
