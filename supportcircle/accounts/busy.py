"""A page for any password form that could not be hashed soon enough (sign-up, a new password, deleting
an account): the login form says so itself (``LoginForm``); anywhere else ``HashingBusy`` would have been
a server error. Nothing was saved; the person is asked to send the form again in a moment."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .hashers import HashingBusy


class HashingBusyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, HashingBusy):
            return None
        response = render(request, "accounts/busy.html", status=503)
        response["Retry-After"] = str(exception.retry_after)
        return response
