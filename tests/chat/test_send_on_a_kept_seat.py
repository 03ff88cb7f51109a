"""A socket keeps its author's seat between sends (PostgreSQL): the rules decide on it, and the store checks
in its own statement that nothing they read has changed; if something has, they decide again on a fresh read."""

import asyncio
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import Posted, post_message, seat_to_post_from
from chat.errors import ChatAccessDenied, ChatRefused
from chat.models import Message, RoomState
from chat.protocol import ErrorCode
from groups.models import Membership, MembershipState
from moderation.models import TimeOut
from tests.conftest import connected, on_every_database_thread, session_cookie

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="seats are kept where the store can check them"),
]


def send(person, group, client_id, seat, *, session_key=None, body="Thank you all for being here") -> Posted:
    return post_message(person.pk, group.pk, client_id=client_id, body=body, session_key=session_key, seat=seat)


def statements_while(func):
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return result, [query["sql"] for query in queries.captured_queries]


def test_a_send_on_a_kept_seat_is_one_statement(group, member):
    session_key = session_cookie(member)
    seat = seat_to_post_from(member.pk, group.pk, session_key)
    # 1 the seat read afresh, its digest and the author's latest post compared with the kept seat's, and
    #   only then the next seq taken and the message inserted (chat.actions._store_if_seat_unchanged):
    #   WITH seat AS (...), taken AS (UPDATE ... RETURNING last_seq), stored AS (INSERT ... RETURNING id, seq).
    posted, statements = statements_while(lambda: send(member, group, "first", seat, session_key=session_key))
    assert len(statements) == 1, statements
    assert statements[0].startswith("WITH seat AS")
    # The seat it leaves behind decides the next one, again in one statement.
    posted, statements = statements_while(lambda: send(member, group, "second", posted.seat, session_key=session_key))
    assert len(statements) == 1, statements
    assert list(Message.objects.filter(group=group).values_list("seq", "client_id")) == [(1, "first"), (2, "second")]


def test_a_break_taken_since_the_seat_was_kept_refuses_the_send(group, member):
    seat = seat_to_post_from(member.pk, group.pk, None)
    Membership.objects.filter(user=member, group=group).update(state=MembershipState.PAUSED)
    with pytest.raises(ChatRefused) as refused:
        send(member, group, "on-a-break", seat)
    assert refused.value.code == ErrorCode.TAKING_A_BREAK
    assert not Message.objects.filter(group=group).exists()


def test_a_removal_since_the_seat_was_kept_closes_the_socket(group, member):
    seat = seat_to_post_from(member.pk, group.pk, None)
    Membership.objects.filter(user=member, group=group).update(state=MembershipState.REMOVED)
    with pytest.raises(ChatAccessDenied):
        send(member, group, "removed", seat)
    Membership.objects.filter(user=member, group=group).delete()
    with pytest.raises(ChatAccessDenied):
        send(member, group, "gone", seat)
    assert not Message.objects.filter(group=group).exists()


def test_a_pause_or_a_time_out_since_the_seat_was_kept_refuses_the_send(group, member, facilitator):
    seat = seat_to_post_from(member.pk, group.pk, None)
    RoomState.objects.create(group=group, paused=True)
    with pytest.raises(ChatRefused) as refused:
        send(member, group, "paused", seat)
    assert refused.value.code == ErrorCode.ROOM_PAUSED
    RoomState.objects.filter(group=group).update(paused=False)
    seat = seat_to_post_from(member.pk, group.pk, None)
    TimeOut.objects.create(group=group, user=member, given_by=facilitator, until=timezone.now() + timedelta(minutes=5))
    with pytest.raises(ChatRefused) as refused:
        send(member, group, "timed-out", seat)
    assert refused.value.code == ErrorCode.TIMED_OUT
    assert not Message.objects.filter(group=group).exists()


def test_a_logout_since_the_seat_was_kept_closes_the_socket(group, member):
    session_key = session_cookie(member)
    seat = seat_to_post_from(member.pk, group.pk, session_key)
    Session.objects.filter(session_key=session_key).delete()
    with pytest.raises(ChatAccessDenied):
        send(member, group, "logged-out", seat, session_key=session_key)
    assert not Message.objects.filter(group=group).exists()


def test_a_post_from_another_tab_in_between_is_read_afresh_and_both_are_stored(group, member):
    this_tab = seat_to_post_from(member.pk, group.pk, None)
    other_tab = seat_to_post_from(member.pk, group.pk, None)
    send(member, group, "other-tab", other_tab)
    # The author's latest post is not the one this tab's seat knows: decided again on what the store read,
    # then stored (2 statements, as without a kept seat).
    posted, statements = statements_while(lambda: send(member, group, "this-tab", this_tab))
    assert len(statements) == 2, statements
    assert posted.message.seq == 2
    assert posted.seat.last_posted_at == posted.message.created_at


def test_the_seat_a_send_leaves_counts_the_rate_window_as_the_database_does(group, member):
    first = send(member, group, "first", seat_to_post_from(member.pk, group.pk, None))
    second = send(member, group, "second", first.seat)
    # The first message leaves the rate limit's window; the author's latest post is still the one the seat knows.
    Message.objects.filter(group=group, client_id="first").update(created_at=timezone.now() - timedelta(hours=1))
    third, statements = statements_while(lambda: send(member, group, "third", second.seat))
    assert len(statements) == 1, statements  # stored on the kept seat
    # "second" and "third", as the store's own read counted: not the three this seat saw go by.
    assert third.seat.posted_in_window == 2
    assert third.seat.last_posted_at == third.message.created_at


def test_slow_mode_counts_the_send_the_kept_seat_just_made(group, member):
    RoomState.objects.create(group=group, slow_mode_seconds=30)
    posted = send(member, group, "first", seat_to_post_from(member.pk, group.pk, None))
    with pytest.raises(ChatRefused) as refused:
        send(member, group, "too-soon", posted.seat)
    assert refused.value.code == ErrorCode.SLOW_MODE
    assert Message.objects.filter(group=group).count() == 1


def test_a_resend_on_a_kept_seat_is_acknowledged_as_the_stored_message(group, member):
    first = send(member, group, "lost-ack", seat_to_post_from(member.pk, group.pk, None))
    again = send(member, group, "lost-ack", first.seat)
    assert again.duplicate is True
    assert again.message.pk == first.message.pk
    assert Message.objects.filter(group=group).count() == 1


@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_a_sockets_send_is_one_statement_from_frame_to_ack(channel_layer, group, member, second_member):
    seen: list[str] = []

    def note(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await asyncio.sleep(0.5)  # let the greetings settle
        await on_every_database_thread(lambda: connection.execute_wrappers.append(note))
        try:
            await sam.send({"type": "send", "client_id": "sam-1", "body": "Hi everyone, rough day."})
            assert (await sam.receive_until("ack"))["message"]["seq"] == 1
            assert (await alex.receive_until("message"))["message"]["seq"] == 1
        finally:
            await on_every_database_thread(lambda: connection.execute_wrappers.remove(note))
    # 1 the store on the socket's kept seat (WITH seat AS ... INSERT ...): nothing else before the ack or
    # the delivery.
    assert len(seen) == 1, seen
    assert seen[0].startswith("WITH seat AS")
