"""A page's session is read with one plain statement (supportcircle.accounts.sessions.SessionStore), and
reads exactly as Django's database sessions do: a live session signs its person in, an expired or unknown
one reads as nobody's and forgets its key."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangosSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from supportcircle.accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def signed_in_client(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_the_project_stores_sessions_in_the_database_through_this_store():
    assert settings.SESSION_ENGINE == "supportcircle.accounts.sessions"
    assert issubclass(SessionStore, DjangosSessionStore)


def test_a_signed_in_page_reads_its_session_in_one_plain_statement(member):
    client = signed_in_client(member)
    with CaptureQueriesContext(connection) as seen:
        response = client.get("/groups/mine/")
    assert response.status_code == 200
    reads = [query["sql"] for query in seen.captured_queries if "django_session" in query["sql"]]
    # Only the two columns a session needs, not the ORM's whole row.
    assert len(reads) == 1 and reads[0].startswith('SELECT session_key, session_data FROM "django_session"'), reads


def test_a_live_session_reads_as_djangos_own_store_reads_it(member):
    key = signed_in_client(member).cookies[settings.SESSION_COOKIE_NAME].value
    ours = SessionStore(key)
    assert ours.load() == DjangosSessionStore(key).load()
    assert ours.load()[SESSION_KEY] == str(member.pk)
    assert ours.session_key == key


def test_an_expired_session_reads_as_nobodys_and_forgets_its_key(member):
    client = signed_in_client(member)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    response = client.get("/groups/mine/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_unknown_key_reads_as_empty_and_saving_makes_a_new_session():
    store = SessionStore("no-such-session-key-at-all")
    assert store.load() == {}
    store["kept"] = "yes"
    store.save()
    assert store.session_key != "no-such-session-key-at-all"
    assert SessionStore(store.session_key).load() == {"kept": "yes"}
