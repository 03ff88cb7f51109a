"""Curiosity, not judgment; and advice only when someone asks for it."""

import pytest

from moderation.engine import get_engine


@pytest.fixture(scope="module")
def engine():
    return get_engine(("curiosity", "no_advice"))


@pytest.mark.parametrize(
    "text",
    [
        "honestly you're overreacting, it was one comment",
        "you're literally so dramatic",
        "at least you have a family that cares",
        "you just want attention tbh",
        "get over it, it was years ago",
        "you're not even that sick",
        "what's wrong with you",
        "you did this to yourself",
    ],
)
def test_it_flags_dismissing_or_judging_another_member(engine, text):
    assert engine.check(text).categories == ("judgment",)


@pytest.mark.parametrize(
    "text",
    [
        "my mum told me i'm overreacting and it really stung",
        "my boss is being so ridiculous about the schedule",
        "you are not overreacting. that would upset anyone",
        "nobody here thinks you're overreacting",
        "my sister keeps saying 'just get over it' and i want to scream",
        "it's not your fault",
        "at least you reached out, that's huge",
        "you're so strong for sharing this",
    ],
)
def test_it_leaves_venting_reassurance_and_reported_speech_alone(engine, text):
    assert engine.check(text).is_clean


@pytest.mark.parametrize(
    "text",
    [
        "you should just eat more honestly",
        "have you tried journaling? it really helps",
        "why don't you just tell her how you feel",
        "just ignore them, they're not worth it",
        "if i were you i'd block him everywhere",
        "honestly just go to bed earlier",
        "you really need to set boundaries with your mom",
        "make sure you're drinking enough water",
    ],
)
def test_it_flags_unsolicited_advice(engine, text):
    assert engine.check(text).categories == ("advice",)


@pytest.mark.parametrize(
    "text",
    [
        "i should probably rest today",
        "i need to stop comparing myself to people online",
        "you should be so proud of yourself!!",
        "you shouldn't have to deal with that alone",
        "you are not alone in this 💛",
        "you must be exhausted after this week",
        "my therapist said i should try journaling",
        "my dad keeps saying you should just eat more like it's that simple",
        "take your time, we're here whenever you're ready",
        "tell us more about that if you want to?",
        "it's okay to take a break if you need to",
        "what do you need right now? ideas or just someone to listen?",
    ],
)
def test_it_leaves_self_talk_and_warm_phrases_alone(engine, text):
    assert engine.check(text).is_clean


@pytest.mark.parametrize(
    "text",
    [
        "maybe try writing it down before bed?",
        "what helped me was taking a walk after meals",
        "it helped me to tell my partner what to say",
        "something that works for me is holding ice",
    ],
)
def test_softer_advice_counts_only_for_someone_who_asked_to_be_heard(engine, text):
    assert engine.check(text).is_clean
    assert engine.check(text, recipient_wants_no_advice=True).categories == ("advice",)


def test_judgment_and_advice_get_a_curious_rewrite(engine):
    assert engine.check("You should just eat more").suggestion == "What do you need right now?"
    assert engine.check("i'm sorry. you're overreacting though").suggestion == (
        "i'm sorry. It sounds like this really got to you. What has it been like?"
    )
    assert engine.check("maybe try yoga", recipient_wants_no_advice=True).suggestion == (
        "Would you like ideas, or mostly to be heard?"
    )


def test_match_offsets_point_at_the_words_as_written_apostrophes_included(engine):
    text = "honestly, you’re overreacting. you shouldn't eat that"
    verdict = engine.check(text)
    assert [text[m.start : m.end] for m in verdict.matches] == ["you’re overreacting", "you shouldn't"]
