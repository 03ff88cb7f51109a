import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions import post_message
from chat.models import Message
from tests.conftest import connected, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def test_two_members_both_receive_a_message_which_is_stored_in_order(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        await sam.send({"type": "send", "client_id": "sam-1", "body": "Hi everyone, rough day."})
        ack = await sam.receive_until("ack")
        assert ack["client_id"] == "sam-1"
        assert ack["message"]["seq"] == 1
        assert ack["duplicate"] is False

        seen_by_alex = await alex.receive_until("message")
        assert seen_by_alex["message"]["body"] == "Hi everyone, rough day."
        assert seen_by_alex["message"]["author"]["pseudonym"] == "Sam"
        assert (await sam.receive_until("message"))["message"]["seq"] == 1

        await alex.send({"type": "send", "client_id": "alex-1", "body": "I'm here, Sam."})
        assert (await sam.receive_until("message"))["message"]["seq"] == 2
        assert (await alex.receive_until("ack"))["message"]["seq"] == 2
        # The sender also gets the broadcast copy; the client keeps one by seq.
        assert (await alex.receive_until("message"))["message"]["seq"] == 2

        assert await sam.nothing_more()
        assert await alex.nothing_more()

    stored = await database_sync_to_async(list)(Message.objects.filter(group=group).values_list("seq", "body"))
    assert stored == [(1, "Hi everyone, rough day."), (2, "I'm here, Sam.")]


async def test_a_resend_with_the_same_client_id_posts_once(channel_layer, group, member, second_member):
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        frame = {"type": "send", "client_id": "lost-ack-1", "body": "Did this go through?"}
        await sam.send(frame)
        first = await sam.receive_until("ack")
        await sam.send(frame)
        second = await sam.receive_until("ack")
        assert second["duplicate"] is True
        assert second["message"] == first["message"]

        assert (await alex.receive_until("message"))["message"]["seq"] == 1
        assert await alex.nothing_more()
    assert await database_sync_to_async(Message.objects.filter(group=group).count)() == 1


def test_sending_a_message_takes_two_statements_on_postgresql_and_three_on_sqlite(group, member):
    session_key = session_cookie(member)
    post_message(member.pk, group.pk, client_id="warm-up", body="Hello")
    # 1 the seat: membership with its group, room state, user and boundary settings; a time-out; a message
    #   already stored with this client id; when the author last posted and how often in the rate window;
    #   and, for a socket, its session (chat.actions._seat).
    # PostgreSQL: 2 the next seq and the message in one statement (chat.actions._store).
    # SQLite: 2 UPDATE ... RETURNING the next seq, 3 INSERT the message (one transaction).
    with CaptureQueriesContext(connection) as queries:
        post_message(member.pk, group.pk, client_id="counted", body="Thank you all", session_key=session_key)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].upper().startswith(("BEGIN", "COMMIT"))]
    assert len(statements) == (2 if connection.vendor == "postgresql" else 3), statements


def test_a_message_stored_in_one_statement_is_the_one_the_model_stores(group, member):
    """The one-statement store builds its row from the model's own fields and defaults."""
    posted = post_message(member.pk, group.pk, client_id="one-statement", body="Reading along tonight")
    stored = Message.objects.get(pk=posted.message.pk)
    assert (stored.seq, stored.body, stored.author_id, stored.state, stored.categories) == (
        1,
        "Reading along tonight",
        member.pk,
        "visible",
        [],
    )
    assert stored.created_at == posted.message.created_at
    assert stored.content_warning == "" and stored.edited_at is None and stored.pinned_at is None


def test_nothing_is_broadcast_before_the_message_commits(group, member, monkeypatch):
    from django.db import transaction

    from supportcircle import realtime

    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda channel, event: sent.append(channel))
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            post_message(member.pk, group.pk, client_id="rolled-back", body="This never happened")
            assert sent == []
            raise RuntimeError("the surrounding transaction fails")
    assert sent == []
    assert not Message.objects.filter(client_id="rolled-back").exists()
