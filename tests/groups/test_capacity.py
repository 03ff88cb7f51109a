"""Capacity holds under races: two people reaching for the last seat at once, by any route, cannot both sit."""

import threading

import pytest
from django.db import connection

from groups.actions import approve_request, join_by_invite, request_to_join
from groups.errors import MembershipError
from groups.models import JoinPolicy, Membership, Role
from tests.conftest import make_person

pytestmark = pytest.mark.django_db(transaction=True)


def race(*attempts) -> list[str]:
    outcomes = []

    def attempt(action):
        try:
            action()
            outcomes.append("seated")
        except MembershipError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(action,)) for action in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def seated_members(group) -> int:
    return Membership.objects.filter(group=group, role=Role.MEMBER, state__in=["active", "paused"]).count()


def test_two_approvals_for_the_last_seat_seat_only_one(group, facilitator, outsider):
    group.join_policy = JoinPolicy.REQUEST
    group.capacity = 3  # Sam and Alex hold two
    group.save()
    latecomer = make_person("Jo")
    first = request_to_join(outsider, group, accepted_version=1)
    second = request_to_join(latecomer, group, accepted_version=1)
    assert race(lambda: approve_request(facilitator, first), lambda: approve_request(facilitator, second)) == [
        "refused",
        "seated",
    ]
    assert seated_members(group) == 3


def test_an_invite_join_and_an_approval_racing_for_the_last_seat_seat_only_one(group, facilitator, outsider):
    group.join_policy = JoinPolicy.REQUEST
    group.capacity = 3
    group.save()
    latecomer = make_person("Jo")
    waiting = request_to_join(outsider, group, accepted_version=1)
    assert race(
        lambda: approve_request(facilitator, waiting),
        lambda: join_by_invite(latecomer, group.invite_token, accepted_version=1),
    ) == ["refused", "seated"]
    assert seated_members(group) == 3
