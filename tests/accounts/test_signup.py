import pytest
from django.urls import reverse

from supportcircle.accounts.models import User
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.django_db


def test_someone_signs_up_with_only_a_pseudonym_and_is_logged_in(client):
    response = client.post(
        "/accounts/signup/",
        {"pseudonym": "River", "password1": "soft-light-harbour-7", "password2": "soft-light-harbour-7"},
    )
    assert response.status_code == 302
    user = User.objects.get(pseudonym="River")
    assert client.get("/").context["user"] == user


def test_the_signup_page_never_asks_for_a_real_name(client):
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="pseudonym"' in page
    assert "first_name" not in page and "last_name" not in page
    assert "real name" in page  # it says we won't ask for it


def test_a_pseudonym_in_use_in_any_case_is_refused_kindly(client, member):
    response = client.post(
        "/accounts/signup/",
        {"pseudonym": "sam", "password1": "soft-light-harbour-7", "password2": "soft-light-harbour-7"},
    )
    assert response.status_code == 200
    assert "already using that pseudonym" in response.content.decode()
    assert User.objects.filter(pseudonym__iexact="sam").count() == 1


def test_a_member_logs_in_at_accounts_login_and_logs_out(client, member):
    response = client.post("/accounts/login/", {"username": "Sam", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"] == member
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_the_pseudonym_is_case_insensitive_at_login(client, member):
    response = client.post("/accounts/login/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 302


def test_a_wrong_password_gets_a_form_error_not_a_crash(client, member):
    response = client.post("/accounts/login/", {"username": "Sam", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct pseudonym and password" in response.content.decode()


def test_passwords_are_hashed_with_argon2(settings):
    settings.PASSWORD_HASHERS = ["supportcircle.accounts.hashers.Argon2PasswordHasher"]  # production's
    assert make_person("Morgan").password.startswith("argon2")
