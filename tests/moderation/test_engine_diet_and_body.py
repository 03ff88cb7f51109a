"""Eating-disorder safety, diet and body talk: collapsed or nudged, while recovery talk flows."""

import pytest

from moderation.engine import Action, get_engine


@pytest.fixture(scope="module")
def engine():
    return get_engine(("ed_safety",))


@pytest.mark.parametrize(
    "text",
    [
        "i've been doing intermittent fasting again",
        "my sister is on keto and talks about it at every dinner",
        "i had a cheat day yesterday and now i feel awful",
        "i'll just burn it off tomorrow",
        "i'm counting calories again",
        "i restricted all weekend and now im dizzy",
        "sugar is basically poison",
        "i earned my dinner today with a long run",
        "went for a run to cancel out the pizza",
        "started chewing and spitting again",
        "i still think of chocolate as naughty",
    ],
)
def test_it_flags_diets_food_rules_and_making_up_for_eating(engine, text):
    assert engine.check(text).categories == ("diet",)


@pytest.mark.parametrize(
    "text",
    [
        "i had pizza with my friends and didn't compensate!!",
        "i ate a fear food today and the world didn't end",
        "diet culture is everywhere in january",
        "i got a diet coke and felt weirdly rebellious lol",
        "followed my meal plan all week",
        "broke my fast at sunset during ramadan",
        "my dietitian says i'm doing really well",
        "time is going so fast",
    ],
)
def test_it_leaves_recovery_and_everyday_food_talk_alone(engine, text):
    assert engine.check(text).is_clean


@pytest.mark.parametrize(
    "text",
    [
        "i feel so fat today",
        "i hate my thighs so much",
        "she's so much thinner than me",
        "you look so healthy now!",
        "i wish i had her body",
        "i've been body checking all morning",
        "you've lost so much weight, you look amazing",
        "i compare my body to everyone at the gym",
    ],
)
def test_it_flags_comments_on_and_comparisons_of_bodies(engine, text):
    assert engine.check(text).categories == ("body",)


@pytest.mark.parametrize(
    "text",
    [
        "back up to 61kg. my team call it progress",
        "i'm a size 14 now, i was a 10 before",
        "my bmi is 17.2 and nobody takes it seriously",
        "put on about 15 kilos since the assault",
        "the team says i need to reach 55kg before discharge",
        "went from a 32 waist to a 36 in a year",
    ],
)
def test_a_body_given_as_a_number_is_body_talk_as_well_as_numbers(engine, text):
    # "A weight change with a number is both body and numbers" (docs/moderation.md): so is a weight,
    # a size or a BMI stated, in a group that has either agreement.
    assert engine.check(text).categories == ("body", "numbers")


@pytest.mark.parametrize(
    "text",
    [
        "the suitcase was 23 kg at check-in",
        "our baby weighed 3.4 kg at birth",
        "she came 1st in the 5k on saturday",
    ],
)
def test_weights_that_are_not_a_body_are_not_body_talk(engine, text):
    assert "body" not in engine.check(text).categories


@pytest.mark.parametrize(
    "text",
    [
        "i feel huge relief after that appointment",
        "big feelings today but i got through it",
        "my body is tired but i'm okay",
        "i'm losing my mind with this heat",
        "i don't want to lose you guys when the group ends",
        "i'm a big fan of your honesty",
        "a big weight off my shoulders",
        "i stopped weighing myself a month ago",
    ],
)
def test_it_leaves_big_feelings_and_losing_your_mind_alone(engine, text):
    assert engine.check(text).is_clean


def test_diet_talk_is_collapsed_behind_a_food_warning(engine):
    verdict = engine.check("everyone at work is doing a juice cleanse")
    assert engine.action_for(verdict) == Action.COLLAPSE
    assert verdict.matches[0].agreement_key == "no_diet_talk"
