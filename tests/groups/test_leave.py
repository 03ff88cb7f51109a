"""Leaving a group: a member may go at any time; the last facilitator stays until another is brought
in, so crisis alerts and the queue always reach someone."""

from html import unescape

import pytest
from django.test import Client

from groups.actions import create_group, join_group, leave_group
from groups.errors import MembershipError
from groups.models import Membership, MembershipState
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def state_of(person, group) -> str:
    return Membership.objects.get(user=person, group=group).state


def test_a_member_leaves_and_is_told_they_are_welcome_back(group, member):
    response = signed_in(member).post(f"/groups/{group.slug}/leave/", follow=True)
    assert state_of(member, group) == MembershipState.LEFT
    assert "You've left Quiet Harbour. You're welcome back any time." in unescape(response.content.decode())


def test_the_only_facilitator_is_kindly_asked_to_bring_in_another_first(group, facilitator, caplog):
    response = signed_in(facilitator).post(f"/groups/{group.slug}/leave/", follow=True)
    assert state_of(facilitator, group) == MembershipState.ACTIVE
    page = unescape(response.content.decode())
    assert "You're this group's only facilitator" in page
    assert "ask an administrator to bring in another facilitator" in page
    assert "last_facilitator" in caplog.text  # the refusal is logged for whoever looks after the site
    with pytest.raises(MembershipError):
        leave_group(facilitator, group)


def test_with_a_co_facilitator_either_may_leave_but_not_both(member):
    robin, jo = make_person("Robin"), make_person("Jo")
    group = create_group(name="Evening Circle", facilitators=[robin, jo], agreements=["We listen first."])
    join_group(member, group, accepted_version=1)
    leave_group(robin, group)
    assert state_of(robin, group) == MembershipState.LEFT
    with pytest.raises(MembershipError) as refused:
        leave_group(jo, group)
    assert refused.value.reason == "last_facilitator"
    assert state_of(jo, group) == MembershipState.ACTIVE


def test_a_facilitator_on_a_break_does_not_count_as_the_one_who_stays(member):
    # A break pauses a facilitator's notifications: a crisis alert would reach nobody.
    from groups.actions import pause_membership, resume_membership

    robin, jo = make_person("Robin"), make_person("Jo")
    group = create_group(name="Evening Circle", facilitators=[robin, jo], agreements=["We listen first."])
    pause_membership(jo, group)
    with pytest.raises(MembershipError):
        leave_group(robin, group)
    resume_membership(jo, group)
    leave_group(robin, group)
    assert state_of(robin, group) == MembershipState.LEFT
