import pytest
from django.core.management import call_command

from chat.models import Message
from groups.models import Agreement, Group, Membership
from supportcircle.accounts.models import User

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        "people": sorted(User.objects.values_list("pseudonym", flat=True)),
        "groups": sorted(Group.objects.values_list("slug", "join_policy", "capacity", "last_seq")),
        "agreements": sorted(Agreement.objects.values_list("group__slug", "version", "number", "text")),
        "memberships": sorted(Membership.objects.values_list("group__slug", "user__pseudonym", "role", "state")),
        "messages": sorted(Message.objects.values_list("group__slug", "seq", "author__pseudonym", "body")),
    }


def test_seed_demo_run_twice_gives_the_same_world():
    call_command("seed_demo", verbosity=0)
    first = snapshot()
    call_command("seed_demo", verbosity=0)
    assert snapshot() == first
    assert len(first["groups"]) == 3
    assert {"Robin", "Sam", "Alex"} <= set(first["people"])
    assert len(first["messages"]) >= 10


def test_the_demo_people_can_log_in_with_the_documented_password(client):
    from supportcircle.operations.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo", verbosity=0)
    assert client.login(username="Sam", password=DEMO_PASSWORD)
    readme = open("README.md").read()
    assert DEMO_PASSWORD in readme


def test_seed_demo_on_a_new_machine_ends_without_an_error_on_screen(tmp_path):
    """`make run` seeds the demo on a fresh database: the second opinion's answers to the demo's messages
    are acted on before the command ends, so a newcomer's first screen shows no traceback."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportcircle.settings",
        "SQLITE_PATH": str(tmp_path / "demo.sqlite3"),
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], capture_output=True, text=True, timeout=300, env=env
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert "Demo world ready" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "failed" not in done.stderr, done.stderr[-2000:]
