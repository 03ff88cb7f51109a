"""The chat history over HTTP is answered in front of Django (chat.fast_history) for a member asking
plainly, and that answer is Django's own: the same status, bytes and headers. Everything else (every
refusal, every odd request, every error) is still answered by Django, and refusals are still logged.

Each request goes through ``supportcircle.asgi.application`` over ASGI, and is compared with what
Django's own handler (``django_asgi_app``) answers for the same request. Django's ``request_started``
signal tells which of the two answered.
"""

from __future__ import annotations

import gc
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.db.backends.signals import connection_created
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from chat.actions import post_message, react_to_message
from chat.fast_history import MIRRORED_MIDDLEWARE, ChatHistoryFastPath
from chat.protocol import BACKFILL_PAGE
from groups.actions import ban_member, block_member, leave_group, mute_member, remove_member, update_boundary_settings
from groups.models import Membership
from supportcircle.asgi import application, django_asgi_app
from supportcircle.http import ClosingASGIHandler
from tests.conftest import PASSWORD, counting_django_requests, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

AUTHZ = "supportcircle.authz"


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    by_django: bool

    def same_as(self, other: Answer) -> bool:
        return (self.status, self.headers, self.body) == (other.status, other.headers, other.body)


async def ask(
    app,
    path: str,
    *,
    cookie: str | None = None,
    query: str = "",
    method: str = "GET",
    headers: tuple = (),
    body: bytes = b"",
    scheme: str = "http",
    host: bytes = b"testserver",
) -> Answer:
    """One HTTP request over ASGI, as daphne sends it."""
    request_headers = [(b"host", host), *headers]
    if cookie:
        request_headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": request_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    with counting_django_requests() as started:
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": body})
        start = await communicator.receive_output(5)
        assert start["type"] == "http.response.start"
        content = b""
        while True:
            part = await communicator.receive_output(5)
            content += part.get("body", b"")
            if not part.get("more_body"):
                break
        await communicator.wait(5)
    return Answer(start["status"], start["headers"], content, by_django=bool(started))


@pytest.fixture(autouse=True)
def _close_worker_thread_connections():
    """The fast path reads on the event loop's worker threads, and each test has a loop of its own:
    collect the connections of the threads that are gone, so PostgreSQL can drop the test database."""
    yield
    gc.collect()


def history(group) -> str:
    return f"/groups/{group.slug}/chat/history/"


async def signed_in(person, **more_cookies) -> str:
    key = await database_sync_to_async(session_cookie)(person)
    cookies = {django_settings.SESSION_COOKIE_NAME: key, **more_cookies}
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def session_key_of(cookie: str) -> str:
    return dict(part.split("=", 1) for part in cookie.split("; "))[django_settings.SESSION_COOKIE_NAME]


async def served_and_django(path: str, *, apps=(application, django_asgi_app), **request) -> tuple[Answer, Answer]:
    """The same request through the application, then through Django's handler alone."""
    served_by, django_app = apps
    served = await ask(served_by, path, **request)
    direct = await ask(django_app, path, **request)
    assert direct.by_django
    return served, direct


def refusal_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == AUTHZ]


@pytest.fixture
def conversation(group, facilitator, member, second_member, settings):
    """A few days of a group's chat: replies, reactions, a content warning."""
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    for number in range(1, 61):
        author = (member, second_member, facilitator)[number % 3]
        body = f"Checking in, day {number}. \u00e9t\u00e9 \u2764"  # JSON escapes what is not ASCII
        post_message(author.pk, group.pk, client_id=f"m{number}", body=body)
    post_message(second_member.pk, group.pk, client_id="r1", body="Thank you, Sam.", reply_to=1)
    post_message(member.pk, group.pk, client_id="cw", body="A heavy one today", content_warning="trauma_details")
    react_to_message(second_member.pk, group.pk, seq=61, kind="sending_care", on=True)
    react_to_message(facilitator.pk, group.pk, seq=62, kind="i_hear_you", on=True)
    return group


# The plain answer ------------------------------------------------------------------------------


async def test_a_member_reads_the_latest_page_without_django_and_exactly_as_django_answers(conversation, member):
    cookie = await signed_in(member)
    served, direct = await served_and_django(history(conversation), cookie=cookie)
    assert not served.by_django
    assert served.status == 200
    assert served.same_as(direct)
    assert b"Checking in, day 60." in served.body


@pytest.mark.parametrize("after_seq", ["0", "3", "0007", "61", "62", "999"])
async def test_a_member_reads_the_page_after_a_seq_exactly_as_django_answers(conversation, member, after_seq):
    cookie = await signed_in(member)
    served, direct = await served_and_django(history(conversation), cookie=cookie, query=f"after_seq={after_seq}")
    assert not served.by_django
    assert served.status == 200
    assert served.same_as(direct)


async def test_a_long_page_is_sent_in_the_same_chunks_as_django_sends(group, member, second_member, settings):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    long_words = "I have been carrying this for a while. " * 50

    def post_many():
        for number in range(BACKFILL_PAGE):
            post_message(second_member.pk, group.pk, client_id=f"long{number}", body=long_words)

    await database_sync_to_async(post_many)()
    cookie = await signed_in(member)
    served, direct = await served_and_django(history(group), cookie=cookie, query="after_seq=0")
    assert not served.by_django
    assert len(served.body) > 2**16  # more than one ASGI body message
    assert served.same_as(direct)


async def test_blocks_mutes_and_collapsed_labels_shape_the_page_as_through_django(
    conversation, facilitator, member, second_member
):
    def boundaries():
        block_member(member, second_member)  # Alex's words and reactions never reach Sam, nor Sam's Alex
        mute_member(member, facilitator)  # Robin's arrive collapsed, for Sam only
        update_boundary_settings(
            member, dm_policy="accepted", collapsed_labels=["trauma_details"], here_to_be_heard=True
        )
        post_message(facilitator.pk, conversation.pk, client_id="q", body="Replying to Alex", reply_to=2)

    await database_sync_to_async(boundaries)()
    for person in (member, second_member, facilitator):
        cookie = await signed_in(person)
        for query in ("", "after_seq=0"):
            served, direct = await served_and_django(history(conversation), cookie=cookie, query=query)
            assert not served.by_django
            assert served.same_as(direct), (person, query)
    sam = await ask(application, history(conversation), cookie=await signed_in(member))
    robin = await ask(application, history(conversation), cookie=await signed_in(facilitator))
    assert b"Thank you, Sam." in robin.body
    assert b"Thank you, Sam." not in sam.body  # Alex's words
    assert b'"collapsed": {"reason": "muted"' in sam.body
    assert b'"collapsed"' not in robin.body


async def test_a_well_formed_csrf_cookie_changes_nothing(conversation, member):
    cookie = await signed_in(member, csrftoken="abcdefghijklmnopqrstuvwxyzABCDEF")
    served, direct = await served_and_django(history(conversation), cookie=cookie)
    assert not served.by_django
    assert served.same_as(direct)


PRODUCTION_LIKE = {
    "hsts": {"SECURE_HSTS_SECONDS": 31536000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True},
    "https redirect, already https": {"SECURE_SSL_REDIRECT": True, "SESSION_COOKIE_SECURE": True},
    "csp report only": {"CONTENT_SECURITY_POLICY_REPORT_ONLY": {"DIRECTIVES": {"default-src": ["'self'"]}}},
    "csp excluded here": {
        "CONTENT_SECURITY_POLICY": {"EXCLUDE_URL_PREFIXES": ["/groups/"], "DIRECTIVES": {"default-src": ["'self'"]}}
    },
    "other header settings": {
        "X_FRAME_OPTIONS": "sameorigin",
        "SECURE_REFERRER_POLICY": ["no-referrer", "strict-origin"],
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": None,
        "SECURE_CONTENT_TYPE_NOSNIFF": False,
        "PERMISSIONS_POLICY": "camera=()",
    },
    "debug": {"DEBUG": True},
}


@pytest.mark.parametrize("variant", PRODUCTION_LIKE, ids=list(PRODUCTION_LIKE))
async def test_the_headers_follow_the_same_settings_as_djangos(conversation, member, settings, variant):
    for name, value in PRODUCTION_LIKE[variant].items():
        setattr(settings, name, value)
    # Django's middleware read some settings once, when the handler is built: build it as a deployment would.
    django_app = ClosingASGIHandler()
    cookie = await signed_in(member)
    served, direct = await served_and_django(
        history(conversation), cookie=cookie, scheme="https", apps=(ChatHistoryFastPath(django_app), django_app)
    )
    assert not served.by_django
    assert served.same_as(direct)


async def test_a_plain_http_request_that_django_redirects_to_https_is_djangos(conversation, member, settings):
    settings.SECURE_SSL_REDIRECT = True
    django_app = ClosingASGIHandler()
    cookie = await signed_in(member)
    served, direct = await served_and_django(
        history(conversation), cookie=cookie, apps=(ChatHistoryFastPath(django_app), django_app)
    )
    assert served.by_django
    assert served.status == 301
    assert served.same_as(direct)


# Everything else is Django's ------------------------------------------------------------------


REFUSED = {
    # case: (status, reason logged)
    "no session cookie": (401, "not_logged_in"),
    "logged out": (401, "not_logged_in"),
    "expired session": (401, "not_logged_in"),
    "deactivated": (401, "not_logged_in"),
    "outsider": (403, "not_a_member"),
    "banned": (403, "banned"),
    "removed": (403, "membership_ended"),
    "left": (403, "membership_ended"),
    "unknown group": (404, "group_not_found"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
async def test_each_refusal_is_djangos_answer_and_is_logged(case, conversation, facilitator, member, outsider, caplog):
    path = history(conversation)
    cookie = await signed_in(outsider if case == "outsider" else member)
    key = session_key_of(cookie)
    membership = await database_sync_to_async(Membership.objects.get)(user=member, group=conversation)

    def arrange():
        if case == "no session cookie":
            return None
        if case == "logged out":  # logging out deletes the session; the browser may still send its cookie
            Session.objects.filter(session_key=key).delete()
        if case == "expired session":
            Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
        if case == "deactivated":
            member.is_active = False
            member.save(update_fields=["is_active"])
        if case == "banned":
            ban_member(facilitator, membership, "Repeated harm after warnings.")
        if case == "removed":
            remove_member(facilitator, membership, "Asked to be removed.")
        if case == "left":
            leave_group(member, conversation)
        return cookie

    cookie = await database_sync_to_async(arrange)()
    if case == "unknown group":
        path = "/groups/no-such-group/chat/history/"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=AUTHZ):
        served = await ask(application, path, cookie=cookie)
        lines = refusal_lines(caplog)
        direct = await ask(django_asgi_app, path, cookie=cookie)
    status, reason = REFUSED[case]
    assert served.by_django
    assert served.status == status
    assert served.same_as(direct)
    assert len(lines) == 1, lines
    assert lines[0].endswith(f"at chat:history {path}: {reason}")


ODD_REQUESTS = {
    "after_seq not a number": {"query": "after_seq=abc"},
    "after_seq negative": {"query": "after_seq=-1"},
    "after_seq empty": {"query": "after_seq="},
    "after_seq unicode digit": {"query": "after_seq=%C2%B2"},
    "after_seq twice": {"query": "after_seq=1&after_seq=2"},
    "another query key": {"query": "after_seq=1&x=2"},
    "only another key": {"query": "before_seq=4"},
    "POST": {"method": "POST"},
    "HEAD": {"method": "HEAD"},
    "PUT": {"method": "PUT"},
    "a body": {"body": b"after_seq=1"},
    "a host not allowed": {"host": b"evil.example"},
    "no trailing slash": {"path": "/groups/{slug}/chat/history"},
    "not a slug": {"path": "/groups/quiet harbour/chat/history/"},
}


@pytest.mark.parametrize("case", ODD_REQUESTS, ids=list(ODD_REQUESTS))
async def test_requests_the_view_answers_otherwise_are_djangos(case, conversation, member):
    request = dict(ODD_REQUESTS[case])
    path = request.pop("path", "/groups/{slug}/chat/history/").format(slug=conversation.slug)
    cookie = await signed_in(member)
    served, direct = await served_and_django(path, cookie=cookie, **request)
    assert served.by_django
    assert served.same_as(direct)


async def test_an_after_seq_past_any_sequence_number_gets_djangos_answer(conversation, member):
    # SQLite cannot hold it (Django answers 500, and so does the application); PostgreSQL can (200).
    cookie = await signed_in(member)
    served, direct = await served_and_django(history(conversation), cookie=cookie, query="after_seq=" + "9" * 20)
    assert served.same_as(direct)


async def test_a_malformed_csrf_cookie_is_left_to_django_which_sets_a_new_one(conversation, member):
    cookie = await signed_in(member, csrftoken="not-a-token")
    served, direct = await served_and_django(history(conversation), cookie=cookie)
    assert served.by_django
    assert (served.status, served.body) == (direct.status, direct.body) == (200, served.body)
    assert any(name == b"Set-Cookie" and value.startswith(b"csrftoken=") for name, value in served.headers)


async def test_after_a_password_change_django_ends_the_session(conversation, member, caplog):
    cookie, twin = await signed_in(member), await signed_in(member)

    def change_password():
        member.set_password(PASSWORD + "-changed")
        member.save()

    await database_sync_to_async(change_password)()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=AUTHZ):
        served = await ask(application, history(conversation), cookie=cookie)
        lines = refusal_lines(caplog)
    direct = await ask(django_asgi_app, history(conversation), cookie=twin)
    assert served.by_django
    assert served.status == 401
    assert (served.status, served.body) == (direct.status, direct.body)
    # Logged out: the session is gone and its cookie deleted, as Django's get_user does.
    assert not await database_sync_to_async(Session.objects.filter(session_key=session_key_of(cookie)).exists)()
    assert (b"Set-Cookie", f'{django_settings.SESSION_COOKIE_NAME}=""'.encode()) in [
        (name, value.split(b";")[0]) for name, value in served.headers
    ]
    assert lines == [f"refused user=anonymous at chat:history {history(conversation)}: not_logged_in"]


async def test_a_session_from_before_a_secret_key_rotation_is_moved_to_a_new_key_by_django(
    conversation, member, settings
):
    old_cookie = await signed_in(member)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz"
    served = await ask(application, history(conversation), cookie=old_cookie)
    assert served.by_django
    assert served.status == 200
    assert any(
        name == b"Set-Cookie" and value.startswith(f"{django_settings.SESSION_COOKIE_NAME}=".encode())
        for name, value in served.headers
    )
    fresh = await ask(application, history(conversation), cookie=await signed_in(member))
    assert not fresh.by_django
    assert fresh.body == served.body


async def test_saving_the_session_on_every_request_is_left_to_django(conversation, member, settings):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    cookie = await signed_in(member)
    served = await ask(application, history(conversation), cookie=cookie)
    assert served.by_django
    assert served.status == 200
    assert any(name == b"Set-Cookie" for name, _ in served.headers)


async def test_another_middleware_turns_the_fast_path_off(conversation, member, settings):
    cookie = await signed_in(member)
    settings.MIDDLEWARE = [*MIRRORED_MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    served = await ask(application, history(conversation), cookie=cookie)
    assert served.by_django
    assert served.status == 200


# Failures -------------------------------------------------------------------------------------


@contextmanager
def database_failing(times: int | None = None):
    """Statements fail at the driver boundary, in every thread: all of them, or the next ``times``."""
    left = [times]
    real = CursorWrapper._execute

    def execute(self, *args, **kwargs):
        if left[0] is None or left[0] > 0:
            if left[0] is not None:
                left[0] -= 1
            raise OperationalError("the database is unavailable")
        return real(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "_execute", execute)
        yield


async def test_while_the_database_is_unavailable_the_answer_is_djangos(conversation, member):
    cookie = await signed_in(member)
    with database_failing():
        served, direct = await served_and_django(history(conversation), cookie=cookie)
    assert served.by_django
    assert served.status == 500
    assert served.same_as(direct)


async def test_a_database_error_in_the_fast_path_alone_is_retried_by_django(conversation, member):
    cookie = await signed_in(member)
    fast = await ask(application, history(conversation), cookie=cookie)
    with database_failing(times=1):
        served = await ask(application, history(conversation), cookie=cookie)
    assert served.by_django
    assert served.same_as(fast)


async def test_an_unexpected_error_is_left_to_django_and_logged_without_what_anyone_wrote(
    conversation, member, monkeypatch, caplog
):
    def broken(request, response):
        raise ValueError(response.content.decode())

    monkeypatch.setattr("chat.fast_history._respond_as_the_middleware_would", broken)
    cookie = await signed_in(member)
    with caplog.at_level(logging.WARNING, logger="chat.fast_history"):
        served, direct = await served_and_django(history(conversation), cookie=cookie)
    assert served.by_django
    assert served.same_as(direct)
    assert [record.getMessage() for record in caplog.records if record.name == "chat.fast_history"] == [
        "chat history fast path left a request to Django after ValueError"
    ]
    assert "Checking in" not in caplog.text


# Cost ----------------------------------------------------------------------------------------


async def test_the_fast_path_reads_in_seven_queries_off_the_sockets_database_thread(conversation, member):
    cookie = await signed_in(member)
    counting = False
    queries: list[str] = []
    threads: set[int] = set()

    def note(execute, sql, params, many, context):
        if counting:
            queries.append(sql)
            threads.add(threading.get_ident())
        return execute(sql, params, many, context)

    def watch(sender, connection, **kwargs):
        if note not in connection.execute_wrappers:  # from a pool, the same wrapper connects again
            connection.execute_wrappers.append(note)

    # The fast path reads on a worker thread with a connection of its own: watch every new connection.
    connection_created.connect(watch)
    try:
        await ask(application, history(conversation), cookie=cookie)  # a warm connection, as in production
        counting = True
        served = await ask(application, history(conversation), cookie=cookie)
        counting = False
    finally:
        connection_created.disconnect(watch)
    sockets_thread = await database_sync_to_async(threading.get_ident)()
    assert not served.by_django
    assert len(threads) == 1 and sockets_thread not in threads  # one call, never on the sockets' thread
    # 1 the session row (plain SQL)            2 the person (Django's ModelBackend.get_user)
    # open_chat: 3 the group with the membership
    # recent_history: 4 the membership again, with the group's last seq
    #                 5 blocks, mutes, collapsed labels   6 the page   7 its reactions
    assert len(queries) == 7, queries
