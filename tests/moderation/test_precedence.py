"""An agreement that asks the writer first ("no numbers") is never silently replaced by a content warning.

Seen in Steady Ground: "only 1200 calories and I skipped dessert" posted to everyone behind a food
content warning, because the diet collapse outranked the "no numbers" nudge and nobody was told.
"""

import pytest

from groups.models import MembershipState
from moderation.engine import Action, get_engine
from moderation.review import review_outgoing
from tests.moderation.scene import agreement

CALORIES_AND_DESSERT = "only 1200 calories and I skipped dessert"


def test_numbers_with_diet_talk_get_the_no_numbers_nudge_not_only_a_collapse():
    engine = get_engine()
    verdict = engine.check(CALORIES_AND_DESSERT)
    assert verdict.categories == ("diet", "numbers")
    assert engine.action_for(verdict) == Action.NUDGE
    # If the writer posts anyway, the food content warning still applies.
    assert engine.content_warning_for(verdict) == "food"


def test_a_group_that_holds_numbers_holds_them_whatever_else_the_message_touches():
    engine = get_engine()
    verdict = engine.check(CALORIES_AND_DESSERT)
    assert engine.action_for(verdict, {"numbers": Action.HOLD, "diet": Action.COLLAPSE}) == Action.HOLD


def test_a_group_that_nudges_diet_talk_nudges_it_even_when_body_talk_collapses():
    engine = get_engine()
    verdict = engine.check("i look huge, so no carbs for me this week")
    assert {"body", "diet"} <= set(verdict.categories)
    assert engine.action_for(verdict, {"diet": Action.NUDGE, "body": Action.COLLAPSE}) == Action.NUDGE
    assert engine.content_warning_for(verdict, {"diet": Action.NUDGE, "body": Action.COLLAPSE}) == "body"


def test_diet_talk_alone_still_collapses_behind_a_food_warning():
    engine = get_engine()
    verdict = engine.check("I skipped lunch and did keto all week.")
    assert verdict.categories == ("diet",)
    assert engine.action_for(verdict) == Action.COLLAPSE
    assert engine.content_warning_for(verdict) == "food"


def test_no_content_warning_when_nothing_collapses():
    engine = get_engine()
    assert engine.content_warning_for(engine.check("i weigh 120 lbs")) is None
    assert engine.content_warning_for(engine.check("I hear you")) is None


@pytest.mark.django_db
def test_in_a_group_with_no_numbers_the_writer_is_nudged_and_told_which_agreement(circle, member):
    membership = member.memberships.get(group=circle, state=MembershipState.ACTIVE)
    decision = review_outgoing(membership, CALORIES_AND_DESSERT, client_id="c-1")
    assert decision.action == Action.NUDGE
    assert decision.withheld is not None and decision.withheld["type"] == "nudge"
    assert decision.cited.number == agreement(circle, "no_numbers").number
    assert "1200" not in (decision.suggestion or "")


@pytest.mark.django_db(transaction=True)
async def test_steady_ground_nudges_the_calories_first_and_posted_anyway_they_collapse_behind_food(
    channel_layer, member, facilitator
):
    """The Steady Ground scene end to end: the nudge comes first, and a collapse never stands in for it."""
    from channels.db import database_sync_to_async

    from groups.actions import create_group, join_group
    from tests.conftest import connected
    from tests.moderation.scene import send

    def steady_ground():
        group = create_group(
            name="Steady Ground", facilitators=[facilitator], agreements=["Be gentle."], rulesets=["ed_safety"]
        )
        join_group(member, group, accepted_version=1)
        return group

    group = await database_sync_to_async(steady_ground)()
    async with connected(member, group.slug) as sam:
        await sam.send(send("cal-1", CALORIES_AND_DESSERT))
        nudge = await sam.receive_until("nudge", timeout=20)  # the first message waits for this engine's build
        assert "numbers" in nudge["agreement"]["text"].lower() or "number" in nudge["message"].lower()
        await sam.send(send("cal-1", CALORIES_AND_DESSERT, post_anyway=True))
        ack = await sam.receive_until("ack")
    assert ack["message"]["content_warning"] == "food"
