"""The crisis rule set: someone in danger is always offered help, and idioms are left alone."""

import pytest

from moderation.engine import Action, Engine, get_engine


@pytest.fixture(scope="module")
def engine():
    return get_engine()


@pytest.mark.parametrize(
    "text",
    [
        "i want to die",
        "honestly been thinking about killing myself a lot this week",
        "I don't want to be here anymore.",
        "everyone would be better off without me tbh",
        "i wish i could just go to sleep and not wake up",
        "kms honestly",
        "feeling sui again, sorry",
        "relapsed on sh last night after 4 months clean",
        "i have a plan.",
        "i keep thinking about taking all my pills at once",
        "cant do this anymore",
        "i want to kiiiill myself",
        "I’m scared, I’m not safe right now",
    ],
)
def test_it_flags_suicidal_thoughts_self_harm_and_plans(engine, text):
    assert engine.check(text).categories == ("crisis",)


@pytest.mark.parametrize(
    "text",
    [
        "this headache is killing me",
        "i could die of embarrassment",
        "my feet are killing me after that walk",
        "im dying to know how it went!!",
        "that meme killed me 😂",
        "i'd kill for a nap right now",
        "i cut myself some slack today",
        "i hurt myself at the gym",
        "we made a safety plan with my therapist today",
        "i want to end things with my boyfriend",
        "cant go on the walk tomorrow",
        "i'm not suicidal, just exhausted",
        "i want to die my hair pink",
    ],
)
def test_it_leaves_idioms_about_dying_and_killing_alone(engine, text):
    assert engine.check(text).is_clean


def test_it_still_flags_crisis_beside_an_idiom_in_another_sentence(engine):
    verdict = engine.check("i could die of embarrassment lol. honestly i want to die")
    assert verdict.categories == ("crisis",)
    assert [m.start for m in verdict.matches] == [45]


def test_a_crisis_message_gets_resources_even_beside_a_held_category(engine):
    verdict = engine.check("i want to die. text me on 07700 900123")
    assert verdict.categories == ("contact", "crisis")
    assert engine.action_for(verdict) == Action.RESOURCES


def test_a_crisis_message_is_never_held_or_blocked_whatever_the_group_chose(engine):
    verdict = engine.check("i have been self harming again")
    assert engine.action_for(verdict, {"crisis": Action.BLOCK}) == Action.RESOURCES
    assert engine.action_for(verdict, {"crisis": Action.HOLD}) == Action.RESOURCES
    assert engine.action_for(verdict, {"crisis": Action.ALERT}) == Action.ALERT


def test_nobody_in_crisis_is_asked_to_reword(engine):
    verdict = engine.check("i hate myself and i want to die")
    assert "crisis" in verdict.categories
    assert verdict.suggestion is None


def test_quoting_does_not_hide_a_crisis(engine):
    assert engine.check('she said "i want to die" and i got so scared for her').categories == ("crisis",)


def test_crisis_is_found_by_the_crisis_rule_set_alone():
    assert Engine(["crisis"]).check("i want to disappear forever").categories == ("crisis",)
