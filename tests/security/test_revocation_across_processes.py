"""Logging out in one place closes the socket held by another server process: nothing else would
(no message is delivered to it, so no re-check runs), so its closing shows the revocation crossed."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from chat.protocol import CloseCode
from groups.actions import ban_member, leave_group, remove_member
from groups.models import Group, Membership, MembershipState
from supportcircle.accounts.actions import delete_account
from tests.conftest import make_person
from tests.support.redis_server import RedisServer
from tests.support.servers import Daphne
from tests.support.waiting import PATIENCE

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

KEY = "revocation-test-channel-key-0123456789abcdef"


def the_layer_of(private_redis) -> dict:
    """This test process as "the other server": the same Redis, prefix and key as daphne's."""
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": private_redis.url}], "prefix": "sc", "symmetric_encryption_keys": [KEY]},
        }
    }


async def test_logging_out_closes_a_socket_on_another_server_process(group, member, settings):
    with (
        RedisServer() as private_redis,
        Daphne(redis_url=private_redis.url, extra_env={"CHANNEL_ENCRYPTION_KEY": KEY}) as srv,
    ):
        settings.CHANNEL_LAYERS = the_layer_of(private_redis)
        browser = Client()
        await sync_to_async(browser.force_login)(member)
        cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}", "Origin": "http://127.0.0.1"}
        async with websockets.connect(f"{srv.ws_url}/ws/groups/{group.slug}/", additional_headers=headers) as ws:
            while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "history":
                pass
            await sync_to_async(browser.post)("/accounts/logout/")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), PATIENCE)
        assert closed.value.rcvd.code == CloseCode.NOT_LOGGED_IN


def seat(user, group) -> Membership:
    return Membership.objects.get(user=user, group=group)


async def test_every_ending_closes_a_socket_on_another_server_process(
    group, another_group, facilitator, member, second_member, settings
):
    """Each way a right ends, done here, closes the socket held by daphne through Redis, with its own
    code: a ban, a removal, leaving, a membership ended in the admin, a group deleted, a password
    changed, an account deleted. Then a ban written with no signal at all, while Redis is away and
    back: the layer's gap re-checks every socket of that process at once. (daphne's sockets are
    idle: no delivery asks for the periodic re-check, which is 15-22 s away.)"""

    def seat_them() -> list:
        people = [make_person(name) for name in ("Kit", "Lane", "Max", "Noor", "Ola", "Pat")]
        for person in people:
            Membership.objects.create(user=person, group=group, state=MembershipState.ACTIVE, accepted_version=1)
        Membership.objects.create(user=member, group=another_group, state=MembershipState.ACTIVE, accepted_version=1)
        return people

    people = await sync_to_async(seat_them)()
    kit, lee, max_, noor, ola, pat = people
    with (
        RedisServer() as private_redis,
        Daphne(redis_url=private_redis.url, extra_env={"CHANNEL_ENCRYPTION_KEY": KEY}) as srv,
    ):
        settings.CHANNEL_LAYERS = the_layer_of(private_redis)
        ways = [
            (member, another_group, lambda: delete_group(another_group), CloseCode.NOT_A_MEMBER),
            (second_member, group, lambda: ban_member(facilitator, seat(second_member, group), "Harm."), 4410),
            (kit, group, lambda: remove_member(facilitator, seat(kit, group), "Unkind."), 4409),
            (lee, group, lambda: leave_group(lee, group), 4409),
            (max_, group, lambda: in_the_admin(seat(max_, group), MembershipState.REMOVED), 4409),
            (noor, group, lambda: new_password(noor), CloseCode.NOT_LOGGED_IN),
            (ola, group, lambda: delete_account(ola), CloseCode.NOT_LOGGED_IN),
        ]
        sockets = []
        for person, where, _, _ in [*ways, (pat, group, None, None)]:
            sockets.append(await open_idle_socket(srv, person, where))
        for (_, _, end, code), ws in zip(ways, sockets, strict=False):
            await sync_to_async(end)()
            assert await closed_code(ws) == code
        # A ban with no signal (a raw UPDATE) while Redis is away: once it is back, daphne's layer watch
        # notices the gap in its heartbeats and every socket there re-checks.
        await sync_to_async(Membership.objects.filter(user=pat, group=group).update)(state=MembershipState.BANNED)
        private_redis.kill()
        await asyncio.sleep(1.5)
        private_redis.start()
        assert await closed_code(sockets[-1]) == CloseCode.BANNED


def delete_group(group) -> None:
    Group.objects.get(pk=group.pk).delete()


def in_the_admin(membership, state) -> None:
    membership.state = state
    membership.save()


def new_password(person) -> None:
    person.set_password("a-new-calm-password-77")
    person.save()


async def open_idle_socket(srv, person, group):
    browser = Client()
    await sync_to_async(browser.force_login)(person)
    cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    headers = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}", "Origin": "http://127.0.0.1"}
    ws = await websockets.connect(f"{srv.ws_url}/ws/groups/{group.slug}/", additional_headers=headers)
    while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "history":
        pass
    return ws


async def closed_code(ws) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), PATIENCE)
    return closed.value.rcvd.code
