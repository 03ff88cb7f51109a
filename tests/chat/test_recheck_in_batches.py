"""Every socket due for its periodic re-check is answered together, with one statement, and each
gets the answer it would have got alone: a busy group costs the database the same whatever its size.
"""

import asyncio
import gc
import threading

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from chat import recheck
from chat.protocol import CloseCode
from chat.recheck import verdicts
from groups.models import Membership, MembershipState
from supportcircle.http import close_this_threads_connections
from tests.conftest import make_person
from tests.support.waiting import PATIENCE

pytestmark = pytest.mark.django_db


def session_for(user) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def test_each_socket_gets_the_answer_it_would_get_alone(group, member, second_member, facilitator, outsider):
    jo = make_person("Jo")
    Membership.objects.create(user=jo, group=group, state=MembershipState.BANNED)
    sam, alex, robin, casey, jos = (session_for(p) for p in (member, second_member, facilitator, outsider, jo))
    Membership.objects.filter(user=second_member, group=group).update(state=MembershipState.LEFT)
    facilitator.set_password("a-new-calm-password-42")  # logs Robin's old sessions out
    facilitator.save()
    keys = [
        (sam, member.pk, group.pk),
        (alex, second_member.pk, group.pk),
        (robin, facilitator.pk, group.pk),
        (casey, outsider.pk, group.pk),
        (jos, jo.pk, group.pk),
        (sam, second_member.pk, group.pk),  # someone else's session
        (None, member.pk, group.pk),
    ]
    assert verdicts(keys) == {
        keys[0]: None,
        keys[1]: CloseCode.MEMBERSHIP_ENDED,
        keys[2]: CloseCode.NOT_LOGGED_IN,
        keys[3]: CloseCode.NOT_A_MEMBER,  # a live session, and no membership
        keys[4]: CloseCode.BANNED,
        keys[5]: CloseCode.NOT_LOGGED_IN,
        keys[6]: CloseCode.NOT_LOGGED_IN,
    }


def test_a_hundred_sockets_are_rechecked_with_one_statement(group, django_assert_num_queries):
    people = [make_person(f"Member {n}") for n in range(100)]
    for person in people:
        Membership.objects.create(user=person, group=group, state=MembershipState.ACTIVE, accepted_version=1)
    keys = [(session_for(person), person.pk, group.pk) for person in people]
    # The sessions, the people the sockets name and their memberships, side by side in one statement: with
    # the database a round trip away, a delivery that must wait for its re-check waits for one.
    with django_assert_num_queries(1):
        answers = verdicts(keys)
    assert set(answers.values()) == {None}


def test_the_answers_are_whose_session_it_is_and_the_membership_as_read_one_by_one(
    group, another_group, member, second_member, facilitator, outsider
):
    """The one statement decides as ``session_owners`` (Django's ``get_user``) and ``refusal_for`` do,
    socket by socket, on every database: sessions live, expired, of someone else, of a deactivated person."""
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from chat.actions import refusal_for
    from supportcircle.accounts.sessions import session_owners

    sam, alex, robin = session_for(member), session_for(second_member), session_for(facilitator)
    expired = session_for(outsider)
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(minutes=1))
    second_member.is_active = False
    second_member.save()
    people = (member, second_member, facilitator, outsider)
    keys = [
        (key, person.pk, chosen.pk)
        for key in (sam, alex, robin, expired, None, "no-such-session")
        for person in people
        for chosen in (group, another_group)
    ]
    one_by_one = {}
    for key in keys:
        session_key, user_id, group_id = key
        membership = Membership.objects.filter(user_id=user_id, group_id=group_id, user__is_active=True).first()
        if session_owners([session_key]).get(session_key) != user_id:
            one_by_one[key] = CloseCode.NOT_LOGGED_IN
        else:
            one_by_one[key] = refusal_for(membership.state if membership else None)
    assert verdicts(keys) == one_by_one
    assert one_by_one[(sam, member.pk, group.pk)] is None  # and not everyone is refused


class HeldFirstBatch:
    """The real ``verdicts``, with the first batch held in its worker thread until released: the
    moment when another socket asks while a batch is being read."""

    def __init__(self) -> None:
        self.reading, self.release, self.calls = threading.Event(), threading.Event(), 0

    def __call__(self, keys):
        self.calls += 1
        if self.calls == 1:
            self.reading.set()
            self.release.wait(PATIENCE)
        return verdicts(keys)


@pytest.mark.django_db(transaction=True)
async def test_a_socket_that_asks_while_a_batch_is_read_is_answered_without_anyone_else_asking(
    group, member, second_member, monkeypatch
):
    sam = (await sync_to_async(session_for)(member), member.pk, group.pk)
    alex = (await sync_to_async(session_for)(second_member), second_member.pk, group.pk)
    held = HeldFirstBatch()
    monkeypatch.setattr(recheck, "verdicts", held)
    checker = recheck.Rechecker()
    first = asyncio.ensure_future(checker.verdict(sam))
    assert await asyncio.get_running_loop().run_in_executor(None, held.reading.wait, PATIENCE)
    second = asyncio.ensure_future(checker.verdict(alex))  # while Sam's batch is being read
    await asyncio.sleep(recheck.BATCH_WINDOW_SECONDS * 4)  # Alex's batch is read beside it, where threads allow
    held.release.set()
    # Nobody else asks after this: Alex's answer must come all the same.
    assert await asyncio.wait_for(first, PATIENCE) is None
    assert await asyncio.wait_for(second, PATIENCE) is None
    assert held.calls == 2
    # The worker threads' connections go with their threads, so PostgreSQL can drop the test database.
    await asyncio.get_running_loop().shutdown_default_executor()
    gc.collect()
    await sync_to_async(close_this_threads_connections)()


async def test_when_every_socket_asks_at_once_each_statement_answers_a_bounded_batch(monkeypatch):
    """After a gap in the channel layer every socket of a process re-checks at the same moment (10,000 in
    the crowd): one statement for all of them would pass SQLite's and PostgreSQL's limits on parameters."""
    sizes = []

    def counting(keys):
        sizes.append(len(keys))
        return dict.fromkeys(keys)

    monkeypatch.setattr(recheck, "verdicts", counting)
    monkeypatch.setattr(recheck, "MOST_PER_STATEMENT", 2)
    checker = recheck.Rechecker()
    keys = [(f"session-{n}", n, 1) for n in range(5)]
    answers = await asyncio.wait_for(asyncio.gather(*(checker.verdict(key) for key in keys)), PATIENCE)
    assert answers == [None] * 5
    assert sorted(sizes) == [1, 2, 2]


async def test_rechecks_asked_ahead_of_time_wait_for_each_other_and_one_needed_now_does_not_wait(monkeypatch):
    """The backstop's re-checks come due one socket at a time: asked ahead of time they wait for each other
    (one statement for the lot), and a socket whose answer is needed now brings the batch forward."""
    sizes = []

    def counting(keys):
        sizes.append(len(keys))
        return dict.fromkeys(keys)

    monkeypatch.setattr(recheck, "verdicts", counting)
    loop, checker = asyncio.get_running_loop(), recheck.Rechecker()
    window = recheck.AHEAD_WINDOW_SECONDS
    ahead = [asyncio.ensure_future(checker.verdict((f"session-{n}", n, 1), within=window)) for n in range(3)]
    await asyncio.sleep(recheck.BATCH_WINDOW_SECONDS * 4)
    assert sizes == []  # still waiting for others to come due
    asked = loop.time()
    assert await asyncio.wait_for(checker.verdict(("session-now", 9, 1)), PATIENCE) is None
    assert loop.time() - asked < window / 2
    assert await asyncio.wait_for(asyncio.gather(*ahead), PATIENCE) == [None] * 3
    assert sizes == [4]
