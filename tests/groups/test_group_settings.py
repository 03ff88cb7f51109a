"""A facilitator changes how the group runs: description, visibility, joining, seats and rule sets."""

import pytest

from groups.actions import update_group_settings
from groups.errors import NotAFacilitator
from groups.models import Membership, MembershipEvent

pytestmark = pytest.mark.django_db

SETTINGS = {
    "description": "A calm place for everyday stress.",
    "visibility": "unlisted",
    "join_policy": "request",
    "capacity": "10",
}


def test_the_facilitator_saves_the_settings_and_the_change_is_recorded(client, group, facilitator):
    client.force_login(facilitator)
    response = client.post(f"/groups/{group.slug}/settings/", SETTINGS, follow=True)
    assert "The group&#x27;s settings are saved." in response.content.decode()
    group.refresh_from_db()
    assert (group.visibility, group.join_policy, group.capacity) == ("unlisted", "request", 10)
    assert group.agreement_version == 1  # same rule sets: the agreements stand
    assert MembershipEvent.objects.filter(kind="groups.settings.changed", actor=facilitator).exists()


def test_choosing_a_rule_set_adds_its_agreements_as_a_new_version_members_accept(client, group, facilitator, member):
    client.force_login(facilitator)
    client.post(f"/groups/{group.slug}/settings/", {**SETTINGS, "rulesets": ["no_advice"]})
    group.refresh_from_db()
    assert group.rulesets == ["no_advice"]
    assert group.agreement_version == 2
    assert [a.rule_key for a in group.current_agreements()] == ["", "", "no_unsolicited_advice"]
    assert not Membership.objects.get(user=member, group=group).has_current_agreements


def test_an_eating_disorder_group_keeps_its_safety_rules_whatever_is_ticked(facilitator):
    from groups.actions import create_group

    group = create_group(name="Steady", facilitators=[facilitator], agreements=["Be gentle."], topic="eating_disorder")
    update_group_settings(
        facilitator, group, description="", visibility="listed", join_policy="open", capacity=8, rulesets=[]
    )
    group.refresh_from_db()
    assert group.rulesets == ["ed_safety"]


def test_bad_settings_are_explained_and_nothing_changes(client, group, facilitator):
    client.force_login(facilitator)
    response = client.post(
        f"/groups/{group.slug}/settings/", {**SETTINGS, "capacity": "1", "rulesets": ["astrology"]}, follow=True
    )
    page = response.content.decode()
    assert "A group needs at least 2 seats." in page
    assert "Select a valid choice" in page
    group.refresh_from_db()
    assert group.capacity == 8


def test_only_this_groups_facilitators_change_the_settings(client, group, member):
    with pytest.raises(NotAFacilitator):
        update_group_settings(
            member, group, description="", visibility="listed", join_policy="open", capacity=8, rulesets=[]
        )
    client.force_login(member)
    assert client.post(f"/groups/{group.slug}/settings/", SETTINGS).status_code == 403
