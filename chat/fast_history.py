"""The HTTP chat history for a member, answered without Django's request handling.

Clients without a socket read ``GET /groups/<slug>/chat/history/`` (``chat.views.history``) over
and over, in the same process as the sockets. Through Django each request cost about 9 ms of CPU:
a fresh thread and database connection (the handler's per-request thread), the request signals,
eleven middleware, the session and the person read through the ORM. This ASGI app stands in front
of Django for HTTP and answers one case itself: a member who may read, asking plainly. Everything
else goes to Django unchanged, which answers, refuses and logs as always:

- any other method, path or query (only nothing, or ``after_seq=<digits>``), a request body;
- no session cookie; a session that is missing, expired, or would be changed by Django (logged out
  after a password change, moved to a new key after a secret key rotation); a person who is not
  active; a CSRF cookie Django would replace; anyone ``chat.actions.open_chat`` refuses;
- settings this module does not mirror (other middleware, another session engine, saving the
  session on every request, an HTTPS redirect, a host not allowed...);
- any error at all, a database error included.

The checks are Django's own: its session store and ``get_user``, the real middleware's request
checks, ``open_chat`` and the same history functions as the view, and each middleware's own
response step adds the headers. All database work is one ``database_sync_to_async`` call, reads
only, on a worker thread with its own connection (never queued behind the posts on the sockets'
database thread). tests/chat/test_fast_history.py proves the answer is Django's, byte for
byte and header for header, and that every refusal is still Django's.
"""

from __future__ import annotations

import logging
import re
from io import BytesIO
from types import SimpleNamespace
from urllib.parse import urlparse

from channels.db import database_sync_to_async
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import signing
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.http import JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils import timezone
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.string_utils import ensure_leading_trailing_slash

from supportcircle.security import LogRefusalsMiddleware, SecurityHeadersMiddleware

from . import actions, views
from .errors import ChatAccessDenied
from .protocol import MAX_INT

log = logging.getLogger(__name__)

DB_SESSIONS = "django.contrib.sessions.backends.db"
# The middleware whose effect on this answer is mirrored here, in settings order. With any other
# list every request goes to Django: a new middleware might refuse, redirect or add a header.
MIRRORED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "supportcircle.security.SecurityHeadersMiddleware",
    "supportcircle.security.LogRefusalsMiddleware",
)
_MIDDLEWARE_CLASSES = (
    SecurityMiddleware,
    WhiteNoiseMiddleware,
    SessionMiddleware,
    CommonMiddleware,
    CsrfViewMiddleware,
    AuthenticationMiddleware,
    MessageMiddleware,
    XFrameOptionsMiddleware,
    CSPMiddleware,
    SecurityHeadersMiddleware,
    LogRefusalsMiddleware,
)
assert tuple(f"{c.__module__}.{c.__qualname__}" for c in _MIDDLEWARE_CLASSES) == MIRRORED_MIDDLEWARE

# A cheap first look, before anything is parsed: Django's ``slug`` converter, and the two queries the view answers.
_HISTORY_PATH = re.compile(r"/groups/[-a-zA-Z0-9_]+/chat/history/")
_PLAIN_QUERY = re.compile(rb"(?:after_seq=([0-9]+))?")


class LeaveItToDjango(Exception):
    """Something about this request is not the plain answer: Django handles it from the start."""


class SessionAsStored(SessionStore):
    """The database session exactly as SessionMiddleware loads it, for reading only.

    Anything Django would change (``get_user`` flushes the session of someone whose password
    changed, and moves a session verified by an old secret key to a new key) raises instead,
    before anything is written, so Django makes the change itself.
    """

    def _refuse(self, *args, **kwargs):
        raise LeaveItToDjango("the session would change")

    __setitem__ = __delitem__ = pop = setdefault = update = clear = _refuse
    flush = cycle_key = save = delete = create = set_expiry = _refuse

    @property
    def key_salt(self) -> str:
        # SessionBase salts the data with the class's name: read it as the engine's own store wrote it.
        return "django.contrib.sessions." + SessionStore.__qualname__

    def load(self) -> dict:
        # What SessionStore.load reads (an unexpired row with this key), in plain SQL: it runs on
        # every request. No row means an anonymous request, which is Django's to answer.
        if self.session_key is None:
            raise LeaveItToDjango("no session")
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608  # nosec B608: table name from model meta
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            raise LeaveItToDjango("no session")
        return self.decode(row[0])

    def decode(self, session_data: str) -> dict:
        # SessionBase.decode logs a corrupted session and reads it as empty; Django will do both
        # when it handles the request, so the warning is written once.
        try:
            return signing.loads(session_data, salt=self.key_salt, serializer=self.serializer)
        except Exception:
            raise LeaveItToDjango("unreadable session") from None


def _settings_are_mirrored() -> bool:
    return (
        tuple(settings.MIDDLEWARE) == MIRRORED_MIDDLEWARE
        and settings.SESSION_ENGINE == DB_SESSIONS
        and not settings.SESSION_SAVE_EVERY_REQUEST
        and not settings.CSRF_USE_SESSIONS
        and not settings.FORCE_SCRIPT_NAME
    )


def _could_be_a_static_file(path: str) -> bool:
    """WhiteNoiseMiddleware answers paths under its static prefix, or anything under WHITENOISE_ROOT."""
    if getattr(settings, "WHITENOISE_ROOT", None):
        return True
    prefix = getattr(settings, "WHITENOISE_STATIC_PREFIX", None)
    if prefix is None:
        prefix = urlparse(settings.STATIC_URL or "").path
    return path.startswith(ensure_leading_trailing_slash(prefix))


def _not_called(request):
    raise AssertionError("only the middleware's request and response steps are used")


_middleware: dict[type, object] = {}


def middleware(cls: type):
    """One ``cls`` for this process, whose request and response steps the fast paths run, as Django's
    handler keeps one of each. Made again once any setting changes, as each reads settings when made
    (``override_settings`` in tests; a deployed site's settings do not change)."""
    try:
        return _middleware[cls]
    except KeyError:
        made = _middleware[cls] = cls(_not_called)
        return made


@receiver(setting_changed)
def _forget_middleware(**kwargs) -> None:
    _middleware.clear()


def _request_as_django_lets_it_through(scope: dict) -> tuple[ASGIRequest, str, str, int | None]:
    """The request as Django would build it, if no middleware would stop, redirect or change it
    before the view: (request, session key, slug, after_seq)."""
    query = scope.get("query_string", b"")
    plain = _PLAIN_QUERY.fullmatch(query) if isinstance(query, bytes) else None
    if plain is None or (plain.group(1) is not None and int(plain.group(1)) > MAX_INT):
        raise LeaveItToDjango("query")
    if not _settings_are_mirrored():
        raise LeaveItToDjango("settings")
    request = ASGIRequest(scope, BytesIO())
    try:
        match = resolve(request.path_info)
    except Resolver404:
        raise LeaveItToDjango("no such page") from None
    if match.func is not views.history:
        raise LeaveItToDjango("another view")
    request.resolver_match = match
    if middleware(SecurityMiddleware).process_request(request) is not None:  # the HTTPS redirect
        raise LeaveItToDjango("redirect")
    if _could_be_a_static_file(request.path_info):
        raise LeaveItToDjango("static")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        raise LeaveItToDjango("no session")
    try:
        # Refused user agents, a host not in ALLOWED_HOSTS, the PREPEND_WWW redirect.
        if middleware(CommonMiddleware).process_request(request) is not None:
            raise LeaveItToDjango("redirect")
    except (DisallowedHost, PermissionDenied):
        raise LeaveItToDjango("refused") from None
    middleware(CsrfViewMiddleware).process_request(request)
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):  # a malformed CSRF cookie: Django sets a new one
        raise LeaveItToDjango("csrf cookie")
    after_seq = int(plain.group(1)) if plain.group(1) is not None else None
    return request, session_key, match.kwargs["slug"], after_seq


def read_history_as_member(session_key: str, slug: str, after_seq: int | None):
    """On a database worker thread: the session's person (as AuthenticationMiddleware finds them), and the
    page the view would return, or LeaveItToDjango when Django would answer anything else."""
    session = SessionAsStored(session_key)
    user = get_user(SimpleNamespace(session=session))  # Django's own check, hash and backend included
    if not user.is_authenticated:
        raise LeaveItToDjango("not logged in")
    try:
        access = actions.open_chat(user, slug)
        if after_seq is None:
            page = actions.recent_history(access.user_id, access.group_id)
        else:
            page = actions.history_after(access.user_id, access.group_id, after_seq)
    except ChatAccessDenied:
        raise LeaveItToDjango("refused") from None  # the view refuses, and logs it
    return session, user, page


def middleware_response_steps(request: ASGIRequest, response):
    """Each middleware's own response step, innermost first, as Django runs them on the way out
    (WhiteNoise and authentication have none). Shared with the login's fast path."""
    response = LogRefusalsMiddleware(lambda _request: response)(request)
    response = SecurityHeadersMiddleware(lambda _request: response)(request)
    for cls in (
        CSPMiddleware,
        XFrameOptionsMiddleware,
        MessageMiddleware,
        CsrfViewMiddleware,
        CommonMiddleware,
        SessionMiddleware,
        SecurityMiddleware,
    ):
        response = middleware(cls).process_response(request, response)
    return response


def _respond_as_the_middleware_would(request: ASGIRequest, response: JsonResponse) -> JsonResponse:
    response = middleware_response_steps(request, response)
    if response.cookies:  # a session or CSRF cookie to set: not the plain answer after all
        raise LeaveItToDjango("cookie")
    return response


class ChatHistoryFastPath:
    """ASGI app for HTTP: the member's plain history request answered here, every other request by
    ``django_app``."""

    def __init__(self, django_app) -> None:
        self.django_app = django_app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not _HISTORY_PATH.fullmatch(scope["path"]):
            await self.django_app(scope, receive, send)
            return
        message = await receive()
        response = None
        if message["type"] == "http.request" and not message.get("body") and not message.get("more_body"):
            response = await self.answer(scope)
        if response is None:
            await self.django_app(scope, _again(message, receive), send)
            return
        await self.django_app.send_response(response, send)  # Django's own ASGI encoding of a response

    async def answer(self, scope: dict) -> JsonResponse | None:
        """Django's response to this request, or None if it is not the plain answer."""
        try:
            request, session_key, slug, after_seq = _request_as_django_lets_it_through(scope)
            # Only reads: on a worker thread with its own connection (as chat.recheck does), so a page
            # never waits behind the posts queued on the sockets' database thread.
            session, user, page = await database_sync_to_async(read_history_as_member, thread_sensitive=False)(
                session_key, slug, after_seq
            )
            request.session, request.user = session, user
            return _respond_as_the_middleware_would(request, JsonResponse(page))
        except LeaveItToDjango:
            return None
        except DatabaseError:
            return None  # Django tries again, and answers (and logs) as it would have
        except Exception as problem:
            # Never a 500 Django would not give: Django answers instead. The kind of error only,
            # nothing from the request.
            log.warning("chat history fast path left a request to Django after %s", type(problem).__name__)
            return None


def _again(first: dict, receive):
    """``receive`` that hands out the message already read first, for Django to read it again."""
    pending = [first]

    async def receive_again():
        if pending:
            return pending.pop()
        return await receive()

    return receive_again
