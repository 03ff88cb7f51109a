"""Under daphne, a POST body goes to Django as it came: Twisted no longer parses it first (it cost time
on every login, and a multipart body Twisted could not parse got Twisted's bare 400, never Django's)."""

import http.client
import re

import pytest

from tests.conftest import PASSWORD
from tests.support.servers import Daphne

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


def post(server: Daphne, path: str, body: bytes, headers: dict) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", path, body=body, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_multipart_body_twisted_cannot_parse_is_answered_by_django(member):
    # A multipart form without its boundary (a mangled upload): Django answers, with its own headers.
    with Daphne() as server:
        response = post(
            server,
            "/accounts/login/",
            b"--broken\r\nthis is not a multipart body",
            {"Content-Type": "multipart/form-data", "Origin": "http://127.0.0.1"},
        )
    assert response.status == 403  # Django's CSRF refusal: no token came with it
    assert response.getheader("Content-Security-Policy")  # set by Django's middleware, not by Twisted


def test_the_login_form_still_logs_in_through_daphne(member):
    connection_headers = {"Origin": "http://127.0.0.1"}
    with Daphne() as server:
        page = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        page.request("GET", "/accounts/login/", headers={"Host": "127.0.0.1"})
        answer = page.getresponse()
        body = answer.read()
        csrf = re.search(r"csrftoken=([^;]+)", answer.getheader("Set-Cookie")).group(1)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        page.close()
        form = f"username=Sam&password={PASSWORD}&csrfmiddlewaretoken={token}".encode()
        response = post(
            server,
            "/accounts/login/",
            form,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}",
                **connection_headers,
            },
        )
    assert response.status == 302
    assert "sessionid=" in response.getheader("Set-Cookie")
