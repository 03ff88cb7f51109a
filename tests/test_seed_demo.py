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
