"""Logging in through the real login form, served by daphne as in production."""

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


def test_the_login_form_logs_in_through_daphne(member):
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
