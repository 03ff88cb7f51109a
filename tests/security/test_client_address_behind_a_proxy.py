"""Login and sign-up limits count people, not the proxy in front: the address in X-Forwarded-For is
believed only from a proxy named in TRUSTED_PROXIES, and only the part that proxy wrote."""

from ipaddress import ip_network

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


def log_in(password: str, forwarded_for: str | None = None, pseudonym: str = "Sam") -> int:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return Client().post("/accounts/login/", {"username": pseudonym, "password": password}, **headers).status_code


def sign_up(number: int, forwarded_for: str) -> int:
    form = {"pseudonym": f"Newcomer {number}", "password1": PASSWORD, "password2": PASSWORD}
    return Client().post("/accounts/signup/", form, HTTP_X_FORWARDED_FOR=forwarded_for).status_code


def test_without_trusted_proxies_naming_a_new_address_each_try_does_not_escape_the_lockout(member, settings):
    settings.TRUSTED_PROXIES = []
    for number in range(5):
        log_in(WRONG, forwarded_for=f"198.51.100.{number}")
    assert log_in(PASSWORD, forwarded_for="198.51.100.99") == 429


def test_behind_a_trusted_proxy_one_persons_lockout_leaves_another_address_free(member, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]  # the test client's address: the proxy
    for _ in range(5):
        log_in(WRONG, forwarded_for="198.51.100.7")
    assert log_in(PASSWORD, forwarded_for="198.51.100.7") == 429
    assert log_in(PASSWORD, forwarded_for="203.0.113.20") == 302  # someone else, elsewhere


def test_behind_a_trusted_proxy_what_the_client_wrote_before_the_proxys_entry_changes_nothing(member, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8")]
    # The client sends its own X-Forwarded-For; the proxies append the address they saw (10.1.2.3 is
    # a second proxy of ours in between).
    for number in range(5):
        log_in(WRONG, forwarded_for=f"192.0.2.{number}, 198.51.100.7, 10.1.2.3")
    assert log_in(PASSWORD, forwarded_for="192.0.2.200, 198.51.100.7, 10.1.2.3") == 429


def test_sign_ups_are_counted_per_forwarded_address_behind_a_trusted_proxy(db, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    for number in range(5):
        assert sign_up(number, "198.51.100.7") == 302
    assert sign_up(5, "198.51.100.7") == 429
    assert sign_up(6, "203.0.113.20") == 302
