"""Response headers Django does not set itself (the CSP comes from django-csp).

What each header promises, and the test that proves it, is in docs/security.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

log = logging.getLogger(__name__)
# Every refusal for who is asking, one WARNING line each, for whoever looks after the site.
authz_log = logging.getLogger("supportcircle.authz")

# URL values that are keys in themselves (an invite link, a password-reset link): never logged.
SECRET_URL_VALUES = ("token", "uidb64")
# The same links by their shape, for a mangled one that matches no route (an invite link with a
# piece of a sentence stuck to it still holds the token). deploy/nginx/supportcircle.conf hides
# the same in nginx's access log.
SECRET_URL_SHAPES = (
    (re.compile(r"^(/groups/[^/]+/invite/).+"), r"\1[hidden]/"),
    (re.compile(r"^(/accounts/reset/)(?!done/?$).+"), r"\1[hidden]/"),
)


def _hidden_path(request: HttpRequest) -> str:
    """The request's path with any secret URL value in it replaced by ``[hidden]``."""
    match = request.resolver_match
    path = request.path
    if match is not None:
        for name in SECRET_URL_VALUES:
            if match.kwargs.get(name):
                path = path.replace(str(match.kwargs[name]), "[hidden]")
    else:
        for shape, hidden in SECRET_URL_SHAPES:
            path = shape.sub(hidden, path)
    return path


def _where(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return request.path
    return f"{match.view_name} {_hidden_path(request)}"


class HideSecretURLValues(logging.Filter):
    """Django logs the path of every answer of 400 and above ("Bad Request: /groups/…/invite/<token>/").
    An invite link's token lets anyone holding it into a private group, and a password-reset link
    opens an account: in those lines the path is written with the secret ``[hidden]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest) and isinstance(record.args, tuple) and request.path in record.args:
            hidden = _hidden_path(request)
            record.args = tuple(hidden if arg == request.path else arg for arg in record.args)
        return True


class RefusalsWithoutTraceback(logging.Filter):
    """Django logs every 403 and 404 a view raises with its traceback. A refusal is not a fault: a
    PermissionDenied is already one ``supportcircle.authz`` line (``LogRefusalsMiddleware``), so
    Django's own line is dropped; any other answer below 500 keeps its line without the traceback.
    Real errors (500 and above) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) >= 500 or not record.exc_info:
            return True
        if isinstance(record.exc_info[1], PermissionDenied):
            return False
        record.exc_info = None
        record.exc_text = None
        return True


def log_refusal(who, reason: str, *, what: str = "") -> None:
    """Log that someone was refused for who they are: their id (never a pseudonym), where, and a short
    reason code (``banned``, ``not_a_facilitator``). Never what they asked for or wrote.

    ``who`` is the request (the route is read from it) or, outside a request, the person, with
    ``what`` naming the action. An empty reason is a refusal about the state of things (the group
    is full), not about who asked: nothing is logged.
    """
    if not reason:
        return
    if isinstance(who, HttpRequest):
        user = getattr(who, "user", None)
        where = what or _where(who)
        who.refusal_logged = True  # the middleware below logs nothing more for this request
    else:
        user, where = who, what
    user_id = user.pk if user is not None and user.is_authenticated else "anonymous"
    authz_log.warning("refused user=%s at %s: %s", user_id, where, reason)


class LogRefusalsMiddleware:
    """Every 403 and 404 from a view is logged through ``log_refusal``, with the reason the view gave
    (``NotAFacilitator`` says ``not_a_facilitator``); refusals that send the person away with a note,
    or show a form again, call ``log_refusal`` themselves. An address that matches no page is not a refusal."""

    REASONS = {403: "forbidden", 404: "not_found"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code in self.REASONS
            and request.resolver_match is not None
            and not getattr(request, "refusal_logged", False)
        ):
            log_refusal(request, getattr(request, "refusal_reason", "") or self.REASONS[response.status_code])
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied | Http404):
            request.refusal_reason = getattr(exception, "reason", "")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages about a signed-in person (their groups, their words) are never kept
            # by a shared computer's browser cache or an intermediary.
            response.headers.setdefault("Cache-Control", "no-store, private")
        return response
