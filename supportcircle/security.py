"""Response headers Django does not set itself (the CSP comes from django-csp).

What each header promises, and the test that proves it, is in docs/security.md.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
