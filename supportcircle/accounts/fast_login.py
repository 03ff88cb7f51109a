"""A plain successful login, answered without Django's request handling.

A crowd arriving at once logs in through ``POST /accounts/login/`` (``views.LoginView``). Through
Django each login cost about 5.7 ms of CPU besides the password hash (here 2.7; MD5, SQLite, in
process): a fresh thread and database connection (the handler's per-request thread), eleven
middleware, and three statements on the session (``login()`` checks that a new key is free and
INSERTs the empty session, then SessionMiddleware UPDATEs it with who logged in), each write
committed on its own. This ASGI app stands in front of the next HTTP app and answers one case itself: the login
form, filled in plainly and correctly. Everything else goes on unchanged, its body handed on as it
came, and Django answers, refuses and logs as always:

- any other method, path or query; a body that is not a small urlencoded form of exactly
  ``username``, ``password``, ``csrfmiddlewaretoken`` and an empty or absent ``next``;
- a CSRF cookie and token, Origin or Referer that Django's CsrfViewMiddleware refuses; a session
  cookie (a login that may keep or replace a session is Django's to do);
- a pseudonym locked out, credentials ``authenticate`` does not accept, a person who is not active:
  nothing is written here, and Django counts the failure and shows the form;
- settings this module does not mirror (those of chat.fast_history, or a receiver of
  ``user_login_failed``, which would hear a failure twice);
- any error at all, a database error included: the writes are rolled back, and Django starts again
  (a ``user_logged_in`` receiver that already ran then hears the login twice, the first one undone).

The steps are Django's own: the real middleware's request checks, ``LoginForm``'s fields and its
checks in its order (``limits.wait_for``, ``authenticate``, ``confirm_login_allowed``,
``limits.forget``; the first tells the last, in the same query, whether it has anything to forget),
the view's ``form_valid`` (``login()``, ``user_logged_in`` with this request, the new CSRF token,
the redirect), the view's decorators and each middleware's response step. Only the session's
writing differs: ``login()`` draws the new key without writing, and SessionMiddleware's save is the
row's one write, an INSERT. All database work is one trip (``supportcircle.db_threads.trip``: a
worker thread with its own connection, or with SQLite the event loop's own thread), the writes in
one transaction.
tests/accounts/test_fast_login.py proves the answer is Django's, header for header and cookie for
cookie, and that every other request is still Django's.
"""

from __future__ import annotations

import logging
from io import BytesIO

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.signals import user_login_failed
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import DisallowedHost, PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import DatabaseError, connections, router, transaction
from django.http import HttpResponse
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers

# The same refusal, settings guard and request checks as the chat history's fast path.
from chat.fast_history import (
    LeaveItToDjango,
    _could_be_a_static_file,
    _settings_are_mirrored,
    middleware,
    middleware_response_steps,
)
from supportcircle.db_threads import trip
from supportcircle.random_strings import random_string

from . import limits, views
from .forms import LoginForm
from .models import Attempt
from .socket_auth import MODEL_BACKEND

log = logging.getLogger(__name__)

# A cheap first look; the URL resolver then confirms it is LoginView's (a test keeps it reverse("login")).
LOGIN_PATH = "/accounts/login/"
# A login form is a few hundred bytes: anything longer is Django's to read.
MAX_BODY = 4096
PLAIN_FORM = {"username", "password", "csrfmiddlewaretoken"}
SESSION_COLUMNS = ("session_key", "session_data", "expire_date")
FORM_FIELDS = ("username", "password")  # LoginForm's, cleaned by the fields alone (it has no clean_<field>)
assert not any(hasattr(LoginForm, f"clean_{name}") for name in FORM_FIELDS)


class LoginSession(SessionStore):
    """The new session a login starts, written once: an INSERT when SessionMiddleware saves it.

    ``login()`` moves the session to a new key (``cycle_key``): here that only draws the key. The
    first save INSERTs the row, and its unique key is the check that the key is free (a key taken
    meanwhile: another, as Django's ``create`` does). A later save updates the row, as Django's would.
    """

    inserted = False

    @property
    def key_salt(self) -> str:
        # SessionBase salts the data with the class's name: write it as the engine's own store would.
        return "django.contrib.sessions." + SessionStore.__qualname__

    def create(self) -> None:
        self._session_key = random_string(32, VALID_KEY_CHARS)
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.inserted:
            super().save(must_create)
            return
        if self.session_key is None:
            self.create()
        # The row Django's save would INSERT (``create_model_instance``), as one plain statement: a key
        # taken meanwhile inserts nothing, and another is drawn (Django's ``create`` does the same
        # after an IntegrityError, in a savepoint this needs no more).
        data = self.encode(self._get_session(no_load=True))
        expires = self.get_expiry_date()
        model = self.model
        connection = connections[router.db_for_write(model)]
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in SESSION_COLUMNS)
        key_column = quote(model._meta.pk.column)
        with connection.cursor() as cursor:
            while True:
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s) "  # noqa: S608  # nosec B608
                    f"ON CONFLICT ({key_column}) DO NOTHING",
                    [self.session_key, data, connection.ops.adapt_datetimefield_value(expires)],
                )
                if cursor.rowcount == 1:
                    break
                self.create()
        self.inserted = True


class CsrfChecks(CsrfViewMiddleware):
    """Django's CSRF checks (Origin or Referer, cookie and token). A refusal raises instead of answering
    (as Django's own ``requires_csrf_token`` overrides ``_reject``), so Django refuses and logs it, once."""

    def _reject(self, request, reason):
        raise LeaveItToDjango("csrf")


def _is_the_plain_form(request: ASGIRequest) -> bool:
    """The login page's form as it sends it: each field once, and ``next`` empty if there at all."""
    form = request.POST
    names = set(form)
    return (
        PLAIN_FORM <= names
        and names - PLAIN_FORM <= {"next"}
        and all(len(form.getlist(name)) == 1 for name in names)
        and not form.get("next")
    )


def _login_as_django_lets_it_through(scope: dict, body: bytes) -> tuple[ASGIRequest, views.LoginView]:
    """The request as Django would build it, if no middleware would stop, redirect or change it before
    the view, and the view ready to handle it."""
    if scope.get("query_string") or scope.get("root_path"):
        raise LeaveItToDjango("query")
    if not _settings_are_mirrored() or user_login_failed.has_listeners():
        raise LeaveItToDjango("settings")
    request = ASGIRequest(scope, BytesIO(body))
    try:
        match = resolve(request.path_info)
    except Resolver404:
        raise LeaveItToDjango("no such page") from None
    if getattr(match.func, "view_class", None) is not views.LoginView:
        raise LeaveItToDjango("another view")
    request.resolver_match = match
    if middleware(SecurityMiddleware).process_request(request) is not None:  # the HTTPS redirect
        raise LeaveItToDjango("redirect")
    if _could_be_a_static_file(request.path_info):
        raise LeaveItToDjango("static")
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        raise LeaveItToDjango("a session already")
    try:
        # Refused user agents, a host not in ALLOWED_HOSTS, the PREPEND_WWW redirect.
        if middleware(CommonMiddleware).process_request(request) is not None:
            raise LeaveItToDjango("redirect")
    except (DisallowedHost, PermissionDenied):
        raise LeaveItToDjango("refused") from None
    if request.content_type != "application/x-www-form-urlencoded" or not _is_the_plain_form(request):
        raise LeaveItToDjango("not the plain form")
    csrf = middleware(CsrfChecks)
    csrf.process_request(request)
    csrf.process_view(request, match.func, match.args, match.kwargs)
    request.session = LoginSession()
    middleware(AuthenticationMiddleware).process_request(request)
    middleware(MessageMiddleware).process_request(request)
    middleware(CSPMiddleware).process_request(request)
    view = match.func.view_class(**match.func.view_initkwargs)
    view.setup(request, *match.args, **match.kwargs)
    return request, view


def log_in(request: ASGIRequest, view: views.LoginView) -> HttpResponse:
    """On one trip to the database (see the module): LoginForm's checks in its order, then the view's login and
    Django's response, or LeaveItToDjango (before any write of its own) when Django would answer anything else."""
    form = view.get_form()
    try:
        return _log_in_with(request, view, form)
    finally:
        let_go(form)


def _log_in_with(request: ASGIRequest, view: views.LoginView, form) -> HttpResponse:
    if type(form) is not LoginForm or tuple(form.fields) != FORM_FIELDS:
        raise LeaveItToDjango("another form")
    try:
        username, password = (form.fields[name].clean(form[name].data) for name in FORM_FIELDS)
    except ValidationError:
        raise LeaveItToDjango("not filled in") from None
    key = limits.login_key(username, request)
    # limits.wait_for's answer, and whether limits.forget below has any failures to forget, in one query.
    wait, failures_recorded = limits.standing(Attempt.Kind.FAILED_LOGIN, key, limits.login_limit())
    if wait:
        raise LeaveItToDjango("locked out")
    user = _authenticate(request, username, password)
    if user is None:
        raise LeaveItToDjango("not these credentials")  # Django counts the failed attempt
    try:
        form.confirm_login_allowed(user)
    except ValidationError:
        raise LeaveItToDjango("not allowed in") from None
    form.user_cache = user  # as AuthenticationForm.clean leaves it, for form.get_user()
    # Forgetting the failures, the session, last_login: all or nothing, so a login left to Django
    # after an error is done by Django from the start.
    with transaction.atomic():
        if failures_recorded:
            limits.forget(Attempt.Kind.FAILED_LOGIN, key)
        response = view.form_valid(form)  # login(), then the redirect to where the view sends people
        return _respond_as_django_would(request, response)


def _authenticate(request: ASGIRequest, username: str, password: str):
    """Django's ``authenticate``, as it runs when the model backend is the only one (the default,
    and these settings'): that backend's check, and the person it finds annotated with its path.
    Django first checks that the backend's ``authenticate`` takes these credentials, with
    ``inspect.signature``, on every login (3% of one); the model backend's always does. Any other
    backends: Django's own ``authenticate``. No match: None, and Django answers (and tells
    ``user_login_failed``)."""
    if list(settings.AUTHENTICATION_BACKENDS) != [MODEL_BACKEND]:
        return authenticate(request, username=username, password=password)
    user = ModelBackend().authenticate(request, username=username, password=password)
    if user is not None:
        user.backend = MODEL_BACKEND
    return user


def _respond_as_django_would(request: ASGIRequest, response: HttpResponse) -> HttpResponse:
    """The view's decorators (``never_cache``, then ``csrf_protect``, which sets the new CSRF cookie),
    then each middleware's response step, innermost first (WhiteNoise and authentication have none).
    SessionMiddleware's save writes the session."""
    add_never_cache_headers(response)
    response = middleware(CsrfViewMiddleware).process_response(request, response)
    return middleware_response_steps(request, response)


def let_go(*objects) -> None:
    """Empty the attributes of the login's request, view and form once it has been answered.

    They reference each other: the view holds the request and itself (``View.setup`` sets ``head``
    to its own ``get``), the form its bound fields and they the form, and the request its messages
    storage, its lazy user and its CSP nonce, each holding the request. So nothing of a login was
    freed when it ended: about 56 objects a login waited for the cyclic garbage collector, which
    walked them along with everything else in the young generation (in daphne, collections took
    3.6% of a connect storm's CPU with them and 2.7% without). Emptied, they are freed at once.
    Nothing keeps them after the answer: the response holds none of them, and ``user_logged_in``
    receivers and the transaction's on-commit callbacks have run by then.
    """
    for thing in objects:
        if thing is not None:
            vars(thing).clear()


class FastLoginPath:
    """ASGI app for HTTP: a plain successful login answered here, every other request by ``app``.
    ``django_app`` is Django's handler, whose own ASGI encoding sends the answer."""

    def __init__(self, app, *, django_app: ASGIHandler) -> None:
        self.app = app
        self.django_app = django_app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != LOGIN_PATH:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_small_body(receive)
        response = None if body is None else await self.answer(scope, body)
        if response is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        await self.django_app.send_response(response, send)

    async def answer(self, scope: dict, body: bytes) -> HttpResponse | None:
        """Django's response to this login, with the person logged in, or None (nothing done) if it is
        not the plain successful login."""
        request = view = None
        try:
            request, view = _login_as_django_lets_it_through(scope, body)
            # Not the sockets' database thread: a login never waits behind the posts queued there. A worker
            # thread with its own connection, as chat.fast_history reads, or with SQLite this thread itself.
            return await trip(log_in, thread_sensitive=False)(request, view)
        except LeaveItToDjango:
            return None
        except DatabaseError:
            return None  # rolled back: Django tries again, and answers (and logs) as it would have
        except Exception as problem:
            # Never a 500 Django would not give: Django answers instead. The kind of error only,
            # nothing from the request (a password is in it).
            log.warning("login fast path left a request to Django after %s", type(problem).__name__)
            return None
        finally:
            let_go(request, view)


async def _read_small_body(receive) -> tuple[list[dict], bytes | None]:
    """The messages read, and the whole body, or None as soon as it is not a small, complete body."""
    messages, body = [], b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return messages, None
        if not message.get("more_body"):
            return messages, body


def _replay(messages: list[dict], receive):
    """``receive`` that hands out the messages already read first, for the next app to read them again."""
    pending = list(messages)

    async def receive_again():
        if pending:
            return pending.pop(0)
        return await receive()

    return receive_again
