"""Self-kindness: harsh self-talk is met with a gentle reframe; softeners and progress are not."""

import pytest

from moderation.engine import Action, get_engine


@pytest.fixture(scope="module")
def engine():
    return get_engine(("self_kindness",))


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("What's wrong with me?", "What's hurting right now?"),
        ("I failed again.", "This is hard, and I'm learning."),
        ("i'm so stupid", "I'm struggling, and I deserve kindness too."),
        (
            "ugh i binged again, what's wrong with me",
            "ugh i binged again, what's hurting right now?",
        ),
    ],
)
def test_it_offers_a_gentle_reframe_of_the_harsh_part(engine, text, suggestion):
    verdict = engine.check(text)
    assert verdict.categories == ("self_criticism",)
    assert verdict.suggestion == suggestion


@pytest.mark.parametrize(
    "text",
    [
        "i hate myself so much today",
        "i'm a terrible mom, i yelled at my kids again",
        "i'll never get better",
        "i'm a burden on everyone around me",
        "i don't deserve recovery",
        "sorry i'm being dramatic again",
        "i'm such an idiot for thinking it would be different",
        "i feel like a complete fraud in this group",
    ],
)
def test_it_notices_harsh_self_talk(engine, text):
    assert engine.check(text).categories == ("self_criticism",)


@pytest.mark.parametrize(
    "text",
    [
        "this might be a stupid question but how do you all handle holidays?",
        "i'm stupid tired lol",
        "i'm not a failure, i'm learning",
        "i used to think i was a burden. i don't anymore.",
        "i'm the worst at replying, sorry!!",
        "i felt like a failure last week but today was better",
        "my inner critic says i'm worthless but i came anyway",
        "i don't deserve to be treated like that",
        "i'm nothing but grateful for this group",
    ],
)
def test_it_leaves_softeners_and_talking_back_to_the_critic_alone(engine, text):
    assert engine.check(text).is_clean


def test_quoted_self_talk_is_someone_reporting_it(engine):
    assert engine.check('my therapist asked me to notice when i say "i\'m so stupid"').is_clean


def test_harsh_self_talk_is_a_nudge(engine):
    assert engine.action_for(engine.check("i hate myself")) == Action.NUDGE
