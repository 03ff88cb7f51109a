"""Session keys and CSRF secrets are as random as Django's own: every character equally likely,
drawn from the operating system (supportcircle/random_strings.py)."""

import string
from collections import Counter

import pytest
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.test import Client

from supportcircle import random_strings
from supportcircle.random_strings import random_string
from tests.conftest import PASSWORD

# Chi-square bounds that a fair draw passes but for about one run in a million (df = alphabet - 1).
CHI_SQUARE_ONE_IN_A_MILLION = {35: 90.5, 61: 129.0}


def chi_square(counts: Counter, alphabet: str, draws: int) -> float:
    expected = draws / len(alphabet)
    return sum((counts[char] - expected) ** 2 / expected for char in alphabet)


@pytest.mark.parametrize("alphabet", [VALID_KEY_CHARS, CSRF_ALLOWED_CHARS], ids=["session key", "csrf secret"])
def test_every_character_is_equally_likely(alphabet):
    # 62 letters and digits do not divide 256: without redrawing the high bytes the first eight
    # characters would come up a quarter more often than the rest, which this would catch.
    strings = [random_string(32, alphabet) for _ in range(4_000)]
    assert all(len(s) == 32 and set(s) <= set(alphabet) for s in strings)
    counts = Counter("".join(strings))
    assert chi_square(counts, alphabet, 32 * 4_000) < CHI_SQUARE_ONE_IN_A_MILLION[len(alphabet) - 1]


def test_no_two_keys_are_the_same():
    keys = {random_string(32, VALID_KEY_CHARS) for _ in range(20_000)}
    assert len(keys) == 20_000


def test_odd_lengths_and_alphabets_are_served_whole():
    assert random_string(0, "ab") == ""
    assert set(random_string(500, "x")) == {"x"}
    long_alphabet = "".join(chr(0x400 + n) for n in range(300))  # more than a byte can pick: Django's way
    drawn = random_string(50, long_alphabet)
    assert len(drawn) == 50 and set(drawn) <= set(long_alphabet)
    assert set(random_string(2_000, string.digits)) == set(string.digits)


@pytest.mark.django_db
def test_a_login_draws_its_session_key_and_csrf_secret_from_the_system(member, monkeypatch):
    reads = []
    real_urandom = random_strings.os.urandom

    def urandom(size: int) -> bytes:
        reads.append(size)
        return real_urandom(size)

    monkeypatch.setattr(random_strings.os, "urandom", urandom)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    token = page.context["csrf_token"]
    secret_before = browser.cookies["csrftoken"].value
    reads.clear()
    response = browser.post("/accounts/login/", {"username": "Sam", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    session_key = response.cookies["sessionid"].value
    assert len(session_key) == 32 and set(session_key) <= set(VALID_KEY_CHARS)
    secret_after = response.cookies["csrftoken"].value
    assert secret_after != secret_before and set(secret_after) <= set(CSRF_ALLOWED_CHARS)
    # The new session's key and the new CSRF secret: a read each, not one per character.
    assert 2 <= len(reads) <= 4
    assert Session.objects.get(session_key=session_key).get_decoded()["_auth_user_id"] == str(member.pk)
