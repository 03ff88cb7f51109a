"""A reused bench world starts every run as it was built: what earlier runs posted, and the
sessions the connect storm logged in with, are gone; the history groups keep their depth and the
world's own sessions still work."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from bench import world
from chat.actions import post_message
from chat.models import Message, Presence
from groups.models import Group
from supportcircle.accounts.models import User

pytestmark = pytest.mark.django_db

TINY = world.Recipe(members=20, group_size=10, big_room=10, history_small=5, history_large=8)


def test_a_reused_world_is_put_back_as_it_was_built():
    saved = world._create(TINY, log=lambda *_: None)
    home = Group.objects.get(slug=saved["home_slugs"][0])
    first = User.objects.get(pseudonym=saved["members"][0])

    # One run: messages in a load group, a login through the real page (as the storm does).
    for number in range(3):
        post_message(first.pk, home.pk, client_id=f"run-{number}", body="Morning, all.")
    logged_in = Client().post("/accounts/login/", {"username": saved["members"][1], "password": saved["password"]})
    assert logged_in.status_code == 302
    assert Session.objects.count() == len(saved["sessions"]) + 1

    left = world._tidy(saved)

    assert left == {"messages": 3, "sessions": 1}
    assert not Message.objects.filter(group=home).exists()
    assert Group.objects.get(pk=home.pk).last_seq == 0
    history = saved["history_slugs"]
    assert Message.objects.filter(group__slug=history["small"]).count() == 5
    assert Message.objects.filter(group__slug=history["large"]).count() == 8
    assert set(Session.objects.values_list("session_key", flat=True)) == set(saved["sessions"])
    assert not Presence.objects.exists()
    # The next run posts from the start again.
    assert post_message(first.pk, home.pk, client_id="next-run", body="Hello again.").message.seq == 1
