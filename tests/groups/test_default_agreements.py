"""A group's rule sets bring their default agreements, after the group's own."""

import pytest

from groups.actions import change_agreements, create_group

pytestmark = pytest.mark.django_db


def test_an_eating_disorder_group_gets_the_eating_disorder_agreements_by_default(facilitator):
    group = create_group(
        name="Steady Ground",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        topic="eating_disorder",
    )
    assert "ed_safety" in group.rulesets
    agreements = list(group.current_agreements())
    assert agreements[0].text == "What is shared here stays here."
    assert [a.rule_key for a in agreements[1:]] == ["no_numbers", "no_diet_talk", "no_body_talk"]
    assert "without numbers" in agreements[1].text


def test_the_default_agreements_of_each_chosen_rule_set_follow_in_order(facilitator):
    group = create_group(
        name="Open Door", facilitators=[facilitator], agreements=["Be gentle."], rulesets=["no_advice", "curiosity"]
    )
    assert [a.rule_key for a in group.current_agreements()] == ["", "curiosity", "no_unsolicited_advice"]


def test_an_agreement_the_group_already_wrote_for_a_rule_is_not_repeated(facilitator):
    group = create_group(
        name="Open Door",
        facilitators=[facilitator],
        agreements=[("We don't give advice unless asked.", "no_unsolicited_advice")],
        rulesets=["no_advice"],
    )
    assert [(a.text, a.rule_key) for a in group.current_agreements()] == [
        ("We don't give advice unless asked.", "no_unsolicited_advice")
    ]


def test_a_new_version_keeps_the_rule_set_agreements(facilitator):
    group = create_group(name="Steady", facilitators=[facilitator], agreements=["Be gentle."], topic="eating_disorder")
    change_agreements(facilitator, group, ["Be gentle.", "Take turns."])
    group.refresh_from_db()
    assert [a.rule_key for a in group.current_agreements()] == ["", "", "no_numbers", "no_diet_talk", "no_body_talk"]
