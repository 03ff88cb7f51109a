"""The author's seat (chat.seat): one plain statement, read as the ORM would read the same rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import post_message
from chat.models import Message, RoomState
from chat.seat import read_seat
from groups.models import BoundarySettings, Membership
from moderation.models import TimeOut
from tests.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def seat_of(person, group, *, client_id="next", session_key=None, window_seconds=60):
    with CaptureQueriesContext(connection) as queries:
        seat = read_seat(
            person.pk,
            group.pk,
            client_id=client_id,
            session_key=session_key,
            now=timezone.now(),
            window_seconds=window_seconds,
        )
    assert len(queries.captured_queries) == 1
    return seat


def test_it_reads_the_same_rows_as_the_orm(group, member):
    session_key = session_cookie(member)
    posted = post_message(member.pk, group.pk, client_id="first", body="Hello, everyone")
    RoomState.objects.create(group=group, slow_mode_seconds=30, paused=True)
    BoundarySettings.objects.create(user=member, here_to_be_heard=True, collapsed_labels=["food"])

    seat = seat_of(member, group, client_id="first", session_key=session_key)

    expected = Membership.objects.select_related("group__room_state", "user__boundary_settings").get(
        user=member, group=group
    )
    with CaptureQueriesContext(connection) as queries:
        assert [getattr(seat, f.attname) for f in Membership._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Membership._meta.concrete_fields
        ]
        for read, orm in (
            (seat.group, expected.group),
            (seat.group.room_state, expected.group.room_state),
            (seat.user, expected.user),
            (seat.user.boundary_settings, expected.user.boundary_settings),
        ):
            fields = type(orm)._meta.concrete_fields
            assert [getattr(read, f.attname) for f in fields] == [getattr(orm, f.attname) for f in fields]
    assert queries.captured_queries == []  # everything came with the seat
    assert seat.resent_seq == posted.message.seq
    assert seat.last_posted_at == posted.message.created_at
    assert seat.posted_in_window == 1
    assert seat.session_data == expected_session_data(session_key)
    assert seat.time_out_until is None


def expected_session_data(session_key):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=session_key).session_data


def test_a_room_and_settings_nobody_changed_come_as_their_defaults_without_a_query(group, member):
    seat = seat_of(member, group)
    with CaptureQueriesContext(connection) as queries:
        room, settings = seat.group.room_state, seat.user.boundary_settings
    assert queries.captured_queries == []
    assert room.pk is None and not room.paused and room.slow_mode_seconds == 0
    assert settings.pk is None and not settings.here_to_be_heard
    assert (seat.resent_seq, seat.last_posted_at, seat.posted_in_window, seat.session_data) == (None, None, 0, None)


def test_it_reads_the_latest_time_out_still_running(group, member, facilitator):
    now = timezone.now()
    TimeOut.objects.create(group=group, user=member, until=now - timedelta(minutes=1), given_by=facilitator)
    running = TimeOut.objects.create(group=group, user=member, until=now + timedelta(minutes=10), given_by=facilitator)
    TimeOut.objects.create(group=group, user=member, until=now + timedelta(minutes=5), given_by=facilitator)

    assert seat_of(member, group).time_out_until == running.until


def test_only_messages_inside_the_window_count_toward_the_rate_limit(group, member):
    post_message(member.pk, group.pk, client_id="old", body="Earlier today")
    post_message(member.pk, group.pk, client_id="new", body="Just now")
    Message.objects.filter(client_id="old").update(created_at=timezone.now() - timedelta(minutes=5))

    seat = seat_of(member, group, window_seconds=60)

    assert seat.posted_in_window == 1
    assert seat.last_posted_at == Message.objects.get(client_id="new").created_at


def test_an_outsider_has_no_seat(group, outsider):
    assert seat_of(outsider, group) is None
