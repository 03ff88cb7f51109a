"""Logging in through the real login form, over the ASGI application, as a browser does it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from channels.testing import HttpCommunicator

# A failure bound, generous: a login queued behind others' Argon2 hashes, on threads that give way to
# everything else on a busy machine, can take a while.
LOGIN_PATIENCE = 60.0


async def log_in(pseudonym: str, password: str) -> int:
    """The login form as a browser sends it: the page first (its CSRF cookie and token), then the POST.
    Returns the POST's status (302: logged in; 200: the form again, with its error)."""
    return (await submit_login(pseudonym, password))["status"]


async def submit_login(pseudonym: str, password: str) -> dict:
    """As ``log_in``, returning the POST's whole response (status, headers, body)."""
    from supportcircle.asgi import application

    page = await HttpCommunicator(
        application, "GET", "/accounts/login/", headers=[(b"host", b"testserver")]
    ).get_response()
    cookie = next(value for name, value in page["headers"] if name == b"Set-Cookie" and value.startswith(b"csrftoken="))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page["body"]).group(1).decode()
    body = urlencode({"username": pseudonym, "password": password, "csrfmiddlewaretoken": token}).encode()
    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"cookie", cookie.split(b";")[0]),
    ]
    response = await HttpCommunicator(application, "POST", "/accounts/login/", body=body, headers=headers).get_response(
        timeout=LOGIN_PATIENCE
    )
    return response
