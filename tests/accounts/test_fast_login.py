"""A plain successful login is answered in front of Django (supportcircle.accounts.fast_login), and that
answer is Django's own: the same status, redirect, headers and cookies, a session that holds the same and
logs the person in, last_login, the ``user_logged_in`` receivers and the forgotten failures, with the
session written once. Everything else (every failure, every odd request, every error) is still Django's.

Each request goes through ``supportcircle.asgi.application`` over ASGI, and is compared with what
Django's own handler (``django_asgi_app``) answers for the same request. Django's ``request_started``
signal tells which of the two answered.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import Morsel, SimpleCookie
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.handlers.asgi import ASGIRequest
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from django.db.backends.utils import CursorWrapper
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from django.utils import timezone

from chat.fast_history import MIRRORED_MIDDLEWARE
from supportcircle.accounts.fast_login import LOGIN_PATH, MAX_BODY, FastLoginPath
from supportcircle.accounts.forms import LoginForm
from supportcircle.accounts.models import Attempt
from supportcircle.accounts.views import LoginView
from supportcircle.asgi import application, django_asgi_app
from supportcircle.db_threads import trip
from supportcircle.http import ClosingASGIHandler, close_this_threads_connections
from tests.conftest import PASSWORD, counting_django_requests, cycles_kept

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "application/x-www-form-urlencoded"
# Header values of the very moment: the same header must be there, its value may differ.
OF_THE_MOMENT = {b"Expires", b"Date", b"Retry-After"}
TOKEN_IN_PAGE = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    by_django: bool

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    def cookies(self) -> dict[str, Morsel]:
        cookies = {}
        for name, value in self.headers:
            if name == b"Set-Cookie":
                cookies.update(SimpleCookie(value.decode()))
        return cookies

    def noticeable(self) -> tuple:
        """What a person's browser would notice: everything, in order, except the values that differ from
        one answer to the next (cookie values, dates of the moment, the form's masked CSRF token)."""
        headers = []
        for name, value in self.headers:
            if name == b"Set-Cookie":
                ((cookie, morsel),) = SimpleCookie(value.decode()).items()
                attributes = {key: bool(text) if key == "expires" else text for key, text in morsel.items()}
                headers.append((name, cookie, attributes))
            else:
                headers.append((name, b"(of the moment)" if name in OF_THE_MOMENT else value))
        return self.status, headers, TOKEN_IN_PAGE.sub(b'name="csrfmiddlewaretoken" value=(token)', self.body)


@dataclass
class Csrf:
    cookie: str
    token: str


def new_csrf() -> Csrf:
    """A CSRF cookie and the form's token, as the login page's ``{% csrf_token %}`` hands them out."""
    request = HttpRequest()
    token = get_token(request)
    return Csrf(cookie=request.META["CSRF_COOKIE"], token=token)


async def ask(
    app,
    path: str = LOGIN_PATH,
    *,
    method: str = "POST",
    body: bytes = b"",
    chunks: list[bytes] | None = None,
    cookies: dict[str, str] | None = None,
    headers: list[tuple[bytes, bytes]] = (),
    query: str = "",
    scheme: str = "http",
    host: bytes = b"testserver",
) -> Answer:
    """One HTTP request over ASGI, as daphne sends it (the body in ``chunks`` if given)."""
    chunks = chunks if chunks is not None else [body]
    request_headers = [(b"host", host), *headers]
    if sum(map(len, chunks)):
        request_headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
    if cookies:
        request_headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
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
        for number, chunk in enumerate(chunks, start=1):
            await communicator.send_input({"type": "http.request", "body": chunk, "more_body": number < len(chunks)})
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


def login_form(
    pseudonym: str | None = "Sam", password: str | None = PASSWORD, *, csrf: Csrf | None = None, scheme="http", **fields
) -> dict:
    """The login form as a browser posts it from the login page: CSRF cookie and token, its Origin, and
    the page's empty ``next``. A field given as None is left out."""
    csrf = csrf or new_csrf()
    form = {"csrfmiddlewaretoken": csrf.token, "username": pseudonym, "password": password, "next": "", **fields}
    return {
        "body": urlencode({name: value for name, value in form.items() if value is not None}).encode(),
        "cookies": {"csrftoken": csrf.cookie},
        "headers": [(b"content-type", FORM.encode()), (b"origin", f"{scheme}://testserver".encode())],
        "scheme": scheme,
    }


async def served_and_django(*, apps=(application, django_asgi_app), **request) -> tuple[Answer, Answer]:
    """The same request through the application, then through Django's handler alone."""
    served_by, django_app = apps
    served = await ask(served_by, **request)
    direct = await ask(django_app, **request)
    assert direct.by_django
    return served, direct


@database_sync_to_async
def session_data(answer: Answer) -> dict:
    return SessionStore(answer.cookies()["sessionid"].value).load()


@database_sync_to_async
def sessions() -> int:
    return Session.objects.count()


@database_sync_to_async
def failed_attempts() -> int:
    return Attempt.objects.filter(kind=Attempt.Kind.FAILED_LOGIN).count()


async def my_groups_page(answer: Answer) -> Answer:
    return await ask(
        application, "/groups/mine/", method="GET", cookies={"sessionid": answer.cookies()["sessionid"].value}
    )


@pytest.fixture(autouse=True)
async def _close_the_connections_opened():
    """The fast path works on the event loop's worker threads, each with its own connection, and the
    tests read on the sockets' database thread, which lives on: end the one and close the other, so
    PostgreSQL can drop the test database after the last test."""
    yield
    await asyncio.get_running_loop().shutdown_default_executor()
    gc.collect()
    await sync_to_async(close_this_threads_connections)()


@pytest.fixture
def logins_heard():
    """A receiver of ``user_logged_in``, as any app may connect: who logged in, on which request."""
    heard = []

    def hear(sender, request, user, **kwargs):
        heard.append((user.pk, request.path, request.session.session_key))

    user_logged_in.connect(hear)
    yield heard
    user_logged_in.disconnect(hear)


# The plain login ----------------------------------------------------------------------------


async def test_a_member_logs_in_without_django_and_exactly_as_django_answers(member):
    csrf = new_csrf()
    served, direct = await served_and_django(**login_form(csrf=csrf))
    assert not served.by_django
    assert served.status == 302
    assert served.header(b"Location") == b"/"
    assert served.noticeable() == direct.noticeable()
    assert [name for name, _ in served.headers].count(b"Set-Cookie") == 2
    # A new CSRF secret, as login() rotates it, and a new session key.
    assert served.cookies()["csrftoken"].value not in (csrf.cookie, direct.cookies()["csrftoken"].value)
    assert served.cookies()["sessionid"].value != direct.cookies()["sessionid"].value


async def test_after_logging_in_the_member_goes_where_the_setting_says_now(member, settings):
    # The login view keeps LOGIN_REDIRECT_URL reversed; a changed setting is followed at once.
    assert (await ask(application, **login_form())).header(b"Location") == b"/"
    settings.LOGIN_REDIRECT_URL = "accounts:profile"
    served = await ask(application, **login_form())
    assert served.header(b"Location") == reverse("accounts:profile").encode()
    settings.LOGIN_REDIRECT_URL = "groups:directory"
    assert (await ask(application, **login_form())).header(b"Location") == b"/"


async def test_the_new_session_holds_what_djangos_holds_and_logs_the_member_in(member):
    served, direct = await served_and_django(**login_form())
    assert not served.by_django
    assert await session_data(served) == await session_data(direct)
    assert set(await session_data(served)) == {"_auth_user_id", "_auth_user_backend", "_auth_user_hash"}

    @database_sync_to_async
    def expiry(answer: Answer):
        return Session.objects.get(session_key=answer.cookies()["sessionid"].value).expire_date

    assert abs(await expiry(served) - await expiry(direct)) < timedelta(seconds=5)
    for answer in (served, direct):
        page = await my_groups_page(answer)
        assert page.status == 200
        assert b">Sam</a>" in page.body


async def test_a_session_key_someone_already_has_is_never_shared(member, outsider, monkeypatch):
    # Keys are 32 random characters, so this is a one-in-a-universe event; it must still never log
    # two people into one session. The first key drawn here is one the outsider is using.
    from supportcircle.accounts import fast_login

    @database_sync_to_async
    def someone_elses_session() -> Session:
        store = SessionStore()
        store["_auth_user_id"] = str(outsider.pk)
        store.create()
        return Session.objects.get(session_key=store.session_key)

    theirs = await someone_elses_session()
    draws = iter([theirs.session_key])
    real = fast_login.random_string
    monkeypatch.setattr(fast_login, "random_string", lambda *args: next(draws, None) or real(*args))
    served = await ask(application, **login_form())
    assert not served.by_django
    mine = served.cookies()["sessionid"].value
    assert mine != theirs.session_key
    assert (await session_data(served))["_auth_user_id"] == str(member.pk)
    still = await database_sync_to_async(Session.objects.get)(session_key=theirs.session_key)
    assert still.session_data == theirs.session_data  # theirs untouched


async def test_logging_in_records_last_login_and_tells_each_receiver_once(member, logins_heard):
    assert member.last_login is None
    served = await ask(application, **login_form())
    assert not served.by_django
    await database_sync_to_async(member.refresh_from_db)()
    assert timezone.now() - member.last_login < timedelta(seconds=5)
    assert logins_heard == [(member.pk, LOGIN_PATH, served.cookies()["sessionid"].value)]


async def test_earlier_failures_are_forgotten_and_other_peoples_are_left(member, second_member):
    for pseudonym in ("Sam", "Sam", "Alex"):
        failed = await ask(application, **login_form(pseudonym, "not-the-password"))
        assert failed.by_django and failed.status == 200
    assert await failed_attempts() == 3
    served = await ask(application, **login_form("sam"))  # any case, as Django's form accepts
    assert not served.by_django
    assert served.status == 302
    assert await failed_attempts() == 1  # Alex's


async def test_a_failure_older_than_the_lockout_window_is_forgotten_too(member):
    failed = await ask(application, **login_form("Sam", "not-the-password"))
    assert failed.by_django and failed.status == 200
    await database_sync_to_async(
        lambda: Attempt.objects.filter(kind=Attempt.Kind.FAILED_LOGIN).update(at=timezone.now() - timedelta(days=2))
    )()
    served = await ask(application, **login_form())
    assert not served.by_django and served.status == 302
    assert await failed_attempts() == 0


async def test_a_form_in_several_messages_with_a_charset_is_answered_here(member):
    request = login_form()
    body = request.pop("body")
    request["headers"][0] = (b"content-type", f"{FORM}; charset=utf-8".encode())
    served = await ask(application, chunks=[body[:10], body[10:40], body[40:]], **request)
    direct = await ask(django_asgi_app, body=body, **request)
    assert not served.by_django
    assert served.noticeable() == direct.noticeable()


PRODUCTION_LIKE = {
    "https with secure cookies and hsts": {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
    },
    "cookies of another shape": {
        "SESSION_COOKIE_AGE": 3600,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": "testserver",
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_AGE": None,
    },
    "sessions that end with the browser": {"SESSION_EXPIRE_AT_BROWSER_CLOSE": True},
    "another page after logging in": {"LOGIN_REDIRECT_URL": "groups:mine"},
    "csp report only": {"CONTENT_SECURITY_POLICY_REPORT_ONLY": {"DIRECTIVES": {"default-src": ["'self'"]}}},
    "other header settings": {"X_FRAME_OPTIONS": "sameorigin", "SECURE_REFERRER_POLICY": "no-referrer"},
    "debug": {"DEBUG": True},
    "another authentication backend": {
        "AUTHENTICATION_BACKENDS": ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    },
}


@pytest.mark.parametrize("variant", PRODUCTION_LIKE, ids=list(PRODUCTION_LIKE))
async def test_the_answer_follows_the_same_settings_as_djangos(member, settings, variant):
    for name, value in PRODUCTION_LIKE[variant].items():
        setattr(settings, name, value)
    # Django's middleware read some settings once, when the handler is built: build it as a deployment would.
    django_app = ClosingASGIHandler()
    served, direct = await served_and_django(
        apps=(FastLoginPath(django_app, django_app=django_app), django_app), **login_form(scheme="https")
    )
    assert not served.by_django
    assert served.status == 302
    assert served.noticeable() == direct.noticeable()
    assert await session_data(served) == await session_data(direct)


def test_the_fast_path_looks_where_the_login_view_is():
    assert reverse("login") == LOGIN_PATH


# Everything else is Django's ------------------------------------------------------------------


@pytest.mark.parametrize("pseudonym, password", [("Sam", "not-the-password"), ("Nobody", PASSWORD)])
async def test_wrong_credentials_get_djangos_form_error_and_one_counted_attempt(member, pseudonym, password):
    served = await ask(application, **login_form(pseudonym, password))
    assert served.by_django
    assert served.status == 200
    assert b"Please enter a correct pseudonym and password" in served.body
    assert await failed_attempts() == 1  # counted by Django, once
    direct = await ask(django_asgi_app, **login_form(pseudonym, password))
    assert served.noticeable() == direct.noticeable()
    assert await sessions() == 0


async def test_a_locked_out_login_gets_djangos_429_with_a_time_to_try_again(member):
    for _ in range(5):
        await ask(application, **login_form("Sam", "not-the-password"))
    served, direct = await served_and_django(**login_form())  # even the right password waits
    assert served.by_django
    assert served.status == 429
    assert int(served.header(b"Retry-After")) > 0
    assert b"Please try again in 15 minutes" in served.body
    assert served.noticeable() == direct.noticeable()
    assert await sessions() == 0


async def test_a_person_who_is_not_active_gets_djangos_answer(member):
    member.is_active = False
    await database_sync_to_async(member.save)()
    served, direct = await served_and_django(**login_form())
    assert served.by_django
    assert served.status == 200
    assert served.noticeable() == direct.noticeable()
    assert await sessions() == 0


def without_origin(request: dict, referer: bytes | None = None) -> dict:
    headers = [header for header in request["headers"] if header[0] != b"origin"]
    return {**request, "headers": headers + ([(b"referer", referer)] if referer else [])}


CSRF_REFUSED = {
    "no token": lambda: login_form(csrfmiddlewaretoken=None),
    "no cookie": lambda: {**login_form(), "cookies": {}},
    "a token of another cookie": lambda: {**login_form(), "cookies": {"csrftoken": new_csrf().cookie}},
    "a malformed cookie": lambda: {**login_form(), "cookies": {"csrftoken": "not-a-token"}},
    "a foreign origin": lambda: {
        **login_form(),
        "headers": [(b"content-type", FORM.encode()), (b"origin", b"http://evil.example")],
    },
    "https without origin or referer": lambda: without_origin(login_form(scheme="https")),
    "https from a foreign page": lambda: without_origin(login_form(scheme="https"), b"https://evil.example/"),
}


@pytest.mark.parametrize("case", CSRF_REFUSED, ids=list(CSRF_REFUSED))
async def test_a_request_the_csrf_check_refuses_is_djangos_403_logged_once(member, case, caplog):
    request = CSRF_REFUSED[case]()
    with caplog.at_level(logging.WARNING):
        served = await ask(application, **request)
    assert served.by_django
    assert served.status == 403
    loggers = [record.name for record in caplog.records]
    assert loggers.count("django.security.csrf") == loggers.count("supportcircle.authz") == 1
    direct = await ask(django_asgi_app, **request)
    assert served.noticeable() == direct.noticeable()
    assert await sessions() == 0


async def test_https_from_the_sites_own_page_without_origin_is_answered_here(member):
    request = without_origin(login_form(scheme="https"), b"https://testserver/accounts/login/")
    served, direct = await served_and_django(**request)
    assert not served.by_django
    assert served.noticeable() == direct.noticeable()


def multipart() -> dict:
    csrf = new_csrf()
    form = {"csrfmiddlewaretoken": csrf.token, "username": "Sam", "password": PASSWORD}
    return {
        "body": encode_multipart(BOUNDARY, form),
        "cookies": {"csrftoken": csrf.cookie},
        "headers": [(b"content-type", MULTIPART_CONTENT.encode()), (b"origin", b"http://testserver")],
    }


def with_more(request: dict, more: bytes) -> dict:
    return {**request, "body": request["body"] + more}


ODD_REQUESTS = {
    # case: (the request, Django's status)
    "GET": (lambda: {**login_form(), "method": "GET", "body": b""}, 200),
    "PUT": (lambda: {**login_form(), "method": "PUT"}, 403),  # Django reads no form from a PUT: no token
    "a next in the form": (lambda: login_form(next="/groups/mine/"), 302),
    "a next in the query": (lambda: {**login_form(next=None), "query": "next=/groups/mine/"}, 302),
    "an unsafe next": (lambda: login_form(next="https://evil.example/"), 302),
    "any query": (lambda: {**login_form(), "query": "from=email"}, 302),
    "a field twice": (lambda: with_more(login_form(), b"&username=sam"), 302),
    "another field": (lambda: login_form(remember="yes"), 302),
    "no password": (lambda: login_form(password=None), 200),
    "no pseudonym": (lambda: login_form(pseudonym=None), 200),
    "a pseudonym too long": (lambda: login_form("S" * 31), 200),
    "a multipart form": (multipart, 302),
    "a JSON body": (lambda: {**login_form(), "headers": [(b"content-type", b"application/json")]}, 403),
    "a body too big": (lambda: login_form(padding="x" * MAX_BODY), 302),
    "a host not allowed": (lambda: {**login_form(), "host": b"evil.example"}, 400),
    "no trailing slash": (lambda: {**login_form(), "path": "/accounts/login"}, 301),
}


@pytest.mark.parametrize("case", ODD_REQUESTS, ids=list(ODD_REQUESTS))
async def test_requests_the_view_answers_otherwise_are_djangos(member, case):
    make_request, status = ODD_REQUESTS[case]
    request = make_request()
    served, direct = await served_and_django(**request)
    assert served.by_django
    assert served.status == status
    assert served.noticeable() == direct.noticeable()


async def test_a_long_body_in_several_messages_reaches_django_whole(member):
    request = login_form(next="/groups/mine/", padding="x" * 3 * MAX_BODY)
    body = request.pop("body")
    served = await ask(application, chunks=[body[:100], body[100:5000], body[5000:]], **request)
    assert served.by_django
    assert served.status == 302
    assert served.header(b"Location") == b"/groups/mine/"
    assert (await my_groups_page(served)).status == 200


async def test_a_client_that_leaves_before_the_body_ends_is_left_to_django(member):
    communicator = ApplicationCommunicator(
        application,
        {
            "type": "http",
            "method": "POST",
            "path": LOGIN_PATH,
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
        },
    )
    await communicator.send_input({"type": "http.request", "body": b"username=Sam", "more_body": True})
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(5)  # Django reads the disconnect, and answers nothing
    assert await communicator.receive_nothing()
    assert await sessions() == 0


@pytest.mark.parametrize("whose", ["a stale one", "someone else's"])
async def test_a_session_cookie_already_there_is_left_to_django(member, outsider, whose):
    if whose == "someone else's":
        theirs = await ask(application, **login_form("Casey"))
        key = theirs.cookies()["sessionid"].value
    else:
        key = "x" * 32
    request = login_form()
    request["cookies"]["sessionid"] = key
    served, direct = await served_and_django(**request)
    assert served.by_django
    assert served.status == 302
    assert served.noticeable() == direct.noticeable()
    assert (await session_data(served))["_auth_user_id"] == str(member.pk)


async def test_another_middleware_turns_the_fast_path_off(member, settings):
    settings.MIDDLEWARE = [*MIRRORED_MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    served = await ask(application, **login_form())
    assert served.by_django
    assert served.status == 302


async def test_another_session_engine_turns_the_fast_path_off(member, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    served = await ask(application, **login_form())
    assert served.by_django
    assert served.status == 302


async def test_a_receiver_of_failed_logins_hears_each_failure_once(member):
    heard = []

    def hear(sender, credentials, request, **kwargs):
        heard.append(credentials["username"])

    user_login_failed.connect(hear)
    try:
        failed = await ask(application, **login_form("Sam", "not-the-password"))
        succeeded = await ask(application, **login_form())
    finally:
        user_login_failed.disconnect(hear)
    assert failed.by_django and succeeded.by_django  # with such a receiver, every login is Django's
    assert heard == ["Sam"]


# Failures -------------------------------------------------------------------------------------


@contextmanager
def database_failing(times: int | None = None, where: str = ""):
    """Statements (those containing ``where``) fail at the driver boundary, in every thread: all of them,
    or the next ``times``."""
    left = [times]
    real = CursorWrapper._execute

    def execute(self, sql, *args, **kwargs):
        if where in sql and (left[0] is None or left[0] > 0):
            if left[0] is not None:
                left[0] -= 1
            raise OperationalError("the database is unavailable")
        return real(self, sql, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "_execute", execute)
        yield


async def test_while_the_database_is_unavailable_the_answer_is_djangos(member):
    with database_failing():
        served, direct = await served_and_django(**login_form())
    assert served.by_django
    assert served.status == 500
    assert served.noticeable() == direct.noticeable()


FAILING_STATEMENTS = {
    "the lockout check": "SELECT COUNT(*), SUM(CASE",
    "finding the person": 'FROM "accounts_user"',
    "forgetting the failures": 'SELECT 1 FROM "accounts_attempt"',
    "last_login": 'UPDATE "accounts_user"',
    "the session's write": 'INSERT INTO "django_session"',
}


@pytest.mark.parametrize("statement", FAILING_STATEMENTS, ids=list(FAILING_STATEMENTS))
async def test_a_database_error_in_the_fast_path_leaves_nothing_and_django_logs_the_person_in(member, statement):
    await ask(application, **login_form("Sam", "not-the-password"))
    with database_failing(times=1, where=FAILING_STATEMENTS[statement]):
        served = await ask(application, **login_form())
    assert served.by_django
    assert served.status == 302
    assert await sessions() == 1  # Django's: nothing of the fast path's is left
    assert await failed_attempts() == 0
    assert (await my_groups_page(served)).status == 200


async def test_an_unexpected_error_is_left_to_django_and_logged_without_the_password(member, caplog):
    calls = []

    def fails_the_first_time(sender, request, user, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError(f"cannot handle {request.POST['password']}")

    user_logged_in.connect(fails_the_first_time)
    try:
        with caplog.at_level(logging.WARNING, logger="supportcircle.accounts.fast_login"):
            served = await ask(application, **login_form())
    finally:
        user_logged_in.disconnect(fails_the_first_time)
    assert served.by_django
    assert served.status == 302
    assert len(calls) == 2
    assert await sessions() == 1  # the first login was rolled back whole
    assert [r.getMessage() for r in caplog.records if r.name == "supportcircle.accounts.fast_login"] == [
        "login fast path left a request to Django after ValueError"
    ]
    assert PASSWORD not in caplog.text


# Cost ----------------------------------------------------------------------------------------


async def test_the_login_writes_the_session_once_in_four_statements_off_the_sockets_database_thread(member):
    counting = False
    statements: list[str] = []
    threads: set[int] = set()

    def note(execute, sql, params, many, context):
        if counting:
            statements.append(sql)
            threads.add(threading.get_ident())
        return execute(sql, params, many, context)

    def watch(sender, connection, **kwargs):
        if note not in connection.execute_wrappers:
            connection.execute_wrappers.append(note)

    # The fast path works on a worker thread with a connection of its own (watch every new connection),
    # or with SQLite on the event loop's own thread (supportcircle.db_threads): watch this one's too.
    connection_created.connect(watch)
    if settings.DATABASE_TRIPS_INLINE:
        await trip(lambda: watch(None, connection))()
    try:
        await ask(application, **login_form())  # a warm connection, as in production
        counting = True
        served = await ask(application, **login_form())
        counting = False
    finally:
        connection_created.disconnect(watch)
        if settings.DATABASE_TRIPS_INLINE:
            await trip(lambda: connection.execute_wrappers.remove(note))()
    sockets_thread = await database_sync_to_async(threading.get_ident)()
    assert not served.by_django
    assert len(threads) == 1 and sockets_thread not in threads  # one call, never on the sockets' thread
    if settings.DATABASE_TRIPS_INLINE:
        assert threads == {threading.get_ident()}  # no hop to another thread at all
    reads_and_writes = [sql for sql in statements if sql.split()[0] in {"SELECT", "INSERT", "UPDATE", "DELETE"}]
    # 1 the lockout check, which also sees that there are no failures to forget (limits.standing)
    # 2 the person (ModelBackend.authenticate), then in one transaction: 3 last_login (update_last_login)
    # 4 the session, one INSERT with who logged in (through Django: a SELECT, an INSERT and an UPDATE)
    assert len(reads_and_writes) == 4, reads_and_writes
    assert reads_and_writes[3].startswith('INSERT INTO "django_session"')
    assert [sql for sql in statements if "django_session" in sql] == [reads_and_writes[3]]


async def test_a_login_leaves_nothing_for_the_cyclic_garbage_collector(member):
    # The request, the view and the form reference each other; each login left about 56 objects that only
    # the collector could free, and it walks them along with every open socket's (fast_login.let_go).
    await ask(application, **login_form())
    with cycles_kept() as garbage:
        served = await ask(application, **login_form())
        gc.collect()
        # type(), not isinstance(): a lazy object among them (the CSP nonce) would be evaluated by isinstance.
        left = [type(thing).__name__ for thing in garbage if type(thing) in (ASGIRequest, LoginView, LoginForm)]
    assert not served.by_django and served.status == 302
    assert left == []
    assert (await my_groups_page(served)).status == 200  # logged in all the same
