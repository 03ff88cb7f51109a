"""Every page carries a Content-Security-Policy without unsafe-inline, and the usual security headers."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def test_pages_carry_a_content_security_policy_without_inline_code(client):
    response = client.get("/")
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'self'" in policy["connect-src"]
    assert any(source.startswith("wss://") for source in policy["connect-src"])
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_pages_cannot_be_framed_or_sniffed(client):
    response = client.get("/accounts/login/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_pages_about_a_signed_in_person_are_not_cached(client, member):
    client.force_login(member)
    response = client.get("/")
    assert "no-store" in response.headers["Cache-Control"]


def test_the_session_cookie_is_httponly_and_same_site(member):
    client = Client()
    response = client.post("/accounts/login/", {"username": "Sam", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),  # inline script block
    re.compile(r"<style\b", re.IGNORECASE),
    re.compile(r"\sstyle\s*=", re.IGNORECASE),
    re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),  # onclick=, onload=, ...
    re.compile(r"javascript:", re.IGNORECASE),
]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_holds_inline_script_style_or_event_handlers(template):
    text = template.read_text()
    for pattern in INLINE:
        assert not pattern.search(text), f"{template.name}: {pattern.pattern}"


def test_the_policy_is_django_csps_own_and_follows_its_setting(client, settings):
    from csp.utils import build_policy

    assert client.get("/accounts/login/").headers["Content-Security-Policy"] == build_policy()
    # A changed policy is served from the next response on (the header is built once per setting).
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["'self'", "https:"]}}
    changed = directives(client.get("/accounts/login/").headers["Content-Security-Policy"])
    assert changed == {"default-src": ["'self'"], "img-src": ["'self'", "https:"]}


def test_a_response_that_changes_its_policy_gets_its_own(rf):
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    request = rf.get("/")
    middleware = CSPMiddleware(lambda request: HttpResponse())
    middleware.process_request(request)
    response = HttpResponse()
    response._csp_update = {"img-src": ["https://pictures.example"]}
    policy = directives(middleware.process_response(request, response).headers["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "https://pictures.example"]
    plain = directives(middleware.process_response(request, HttpResponse()).headers["Content-Security-Policy"])
    assert plain["img-src"] == ["'self'", "data:"]
