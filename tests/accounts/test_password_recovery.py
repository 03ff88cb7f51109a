"""Forgot your password? A link by email to the address on the account, through Django's own views, in our
words, and never a hint whether an account has the email someone typed."""

import re
import threading

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend

from supportcircle.accounts.outbox import wait_until_sent
from tests.conftest import PASSWORD
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-and-calm-password-2026"


def test_the_login_page_offers_a_way_to_recover_a_password(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in html and "Forgot your password?" in html


def test_a_member_with_an_email_gets_a_link_and_chooses_a_new_password(client, member):
    member.email = "sam@example.org"
    member.save(update_fields=["email"])

    response = client.post("/accounts/password_reset/", {"email": "SAM@example.org"}, follow=True)

    assert "Check your email" in response.content.decode()
    assert wait_until_sent()
    (email,) = mail.outbox
    assert email.to == ["sam@example.org"] and "Hello Sam," in email.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", email.body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert "Your new password is saved" in done.content.decode()
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD) and not member.check_password(PASSWORD)


def test_an_unknown_email_reads_exactly_like_a_known_one(client, member):
    member.email = "sam@example.org"
    member.save(update_fields=["email"])

    known = client.post("/accounts/password_reset/", {"email": "sam@example.org"}, follow=True)
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.org"}, follow=True)

    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content.decode().replace("sam", "") == unknown.content.decode().replace("nobody", "")
    assert wait_until_sent() and len(mail.outbox) == 1


def test_a_used_link_says_so_kindly_and_offers_a_new_one(client, member):
    member.email = "sam@example.org"
    member.save(update_fields=["email"])
    client.post("/accounts/password_reset/", {"email": "sam@example.org"})
    assert wait_until_sent()
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link, follow=True).content.decode()

    assert "This link has already been used or has expired" in again
    assert 'href="/accounts/password_reset/"' in again


def test_development_prints_email_on_the_console():
    from supportcircle import settings as project_settings

    if not project_settings.IS_PRODUCTION and not project_settings.env_str("EMAIL_HOST"):
        assert project_settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"


def test_asking_again_and_again_is_paused_kindly_and_floods_nobody(client, member):
    member.email = "sam@example.org"
    member.save(update_fields=["email"])

    for _ in range(3):
        assert client.post("/accounts/password_reset/", {"email": "sam@example.org"}, follow=True).status_code == 200
    fourth = client.post("/accounts/password_reset/", {"email": "sam@example.org"})

    assert fourth.status_code == 429 and int(fourth["Retry-After"]) > 0
    assert "paused them for a little while" in fourth.content.decode()
    assert wait_until_sent() and len(mail.outbox) == 3


def test_the_pause_reads_the_same_for_an_email_nobody_has(client, member):
    for _ in range(3):
        client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    fourth = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})

    assert fourth.status_code == 429 and "paused them for a little while" in fourth.content.decode()
    assert wait_until_sent() and mail.outbox == []


class HeldMailServer(MemoryBackend):
    """A mail server that takes as long as the test says: it answers once ``reply`` is set."""

    reply = threading.Event()

    def send_messages(self, messages):
        assert self.reply.wait(30), "the test never let the mail server answer"
        return super().send_messages(messages)


def test_the_page_answers_before_the_mail_server_does_so_its_timing_tells_nobody(client, member, settings):
    member.email = "sam@example.org"
    member.save(update_fields=["email"])
    settings.EMAIL_BACKEND = f"{__name__}.HeldMailServer"
    HeldMailServer.reply.clear()

    try:
        response = client.post("/accounts/password_reset/", {"email": "sam@example.org"}, follow=True)

        assert "Check your email" in response.content.decode()
        assert mail.outbox == []  # the mail server has not answered, and the page did not wait for it
    finally:
        HeldMailServer.reply.set()
    (email,) = eventually(lambda: list(mail.outbox), what="the recovery email was never sent")
    assert email.to == ["sam@example.org"]


def test_a_mail_server_that_fails_is_logged_without_the_address(client, member, settings, caplog):
    member.email = "sam@example.org"
    member.save(update_fields=["email"])
    settings.EMAIL_BACKEND = "tests.accounts.test_password_recovery.RefusingMailServer"

    response = client.post("/accounts/password_reset/", {"email": "sam@example.org"}, follow=True)

    assert response.status_code == 200 and "Check your email" in response.content.decode()
    assert wait_until_sent()
    assert "Failed to send password reset email" in caplog.text and "sam@example.org" not in caplog.text


class RefusingMailServer(MemoryBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")
