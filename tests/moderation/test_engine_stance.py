"""The writer's stance decides: diet and body words quoted to criticise diet culture, an inner critic's words
answered back, and recovery talk about a meal plan are not what the agreements ask people to leave out.

Each scene stands next to the message the same words still catch when the writer means them.
"""

import pytest
from channels.db import database_sync_to_async

from moderation.engine import Engine, get_engine
from moderation.models import AuditEntry
from tests.conftest import connected
from tests.moderation.scene import send


@pytest.fixture(scope="module")
def engine():
    return get_engine()


def categories(engine, text):
    return set(engine.check(text).categories)


@pytest.mark.parametrize(
    "text",
    [
        'so tired of "guilt-free" on every pudding label. it\'s pudding',
        "hot take: cheat day is a weird name for eating lunch",
        "the magazine at the hairdresser had a juice cleanse on the cover again",
        "every advert on my commute is a detox tea, it's exhausting",
        "my uncle did his keto speech at dinner and i changed the subject to the football",
        "clean eating influencers should be banned from my feed",
        'the word "naughty" next to a dessert makes me want to scream',
    ],
)
def test_a_member_criticising_diet_culture_is_not_told_it_is_diet_talk(engine, text):
    assert "diet" not in categories(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "had a cheat day yesterday so it's salad only until friday",
        "starting a detox tomorrow, no carbs till the weekend",
        "clean eating week two and i've been so good",
    ],
)
def test_diet_talk_meant_as_a_plan_is_still_diet_talk(engine, text):
    assert "diet" in categories(engine, text)


def test_food_being_no_crime_answers_the_diet_word_before_it(engine):
    assert "diet" not in categories(engine, 'saw "guilt free" crisps in the shop. food isn\'t a crime')


@pytest.mark.parametrize(
    "text",
    [
        "my ed voice says i don't deserve dinner. i'm having the pasta",
        "the disorder says skip breakfast and i said no thanks, toast it is",
        "the urge to skip lunch was loud today but i ate anyway",
        "i didn't skip a single snack this week, meal plan all the way",
        "a year ago i would have skipped dinner after that, tonight i had it",
    ],
)
def test_recovery_talk_that_refuses_a_food_rule_is_not_diet_talk(engine, text):
    assert "diet" not in categories(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "i don't deserve dinner after today",
        "skipping breakfast again, easier that way",
        "gonna skip lunch to make up for last night",
    ],
)
def test_the_food_rule_itself_is_still_diet_talk(engine, text):
    assert "diet" in categories(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "fasting bloods at 8 so no breakfast, grumpy already",
        "doctor's orders: low salt diet for my blood pressure",
        "I'm coeliac, so gluten is off the menu for medical reasons, not a diet thing",
    ],
)
def test_a_medical_reason_is_not_diet_culture(engine, text):
    assert "diet" not in categories(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "my inner critic says i'm useless. i made three phone calls i'd been dreading, so no",
        "the voice in my head said i'm a burden today and i answered it: i'm a person who needs help sometimes",
        "my brain likes to tell me i'm pathetic. i've started talking back",
    ],
)
def test_a_member_talking_back_to_the_inner_critic_is_not_nudged_for_self_criticism(engine, text):
    assert "self_criticism" not in categories(engine, text)


@pytest.mark.parametrize("text", ["i'm useless and everyone knows it", "honestly i'm such a burden to everyone"])
def test_the_critics_words_said_as_ones_own_are_still_self_criticism(engine, text):
    assert "self_criticism" in categories(engine, text)


def test_the_critic_quoted_with_a_colon_is_not_judging_another_member(engine):
    assert "judgment" not in categories(engine, "brain: you're lazy. me: i had a fever, brain")
    assert "judgment" in categories(engine, "honestly you're lazy and you know it")


@pytest.mark.parametrize(
    "text",
    [
        "quitting the office weight loss challenge, it's harmful",
        "noticed the urge to body check in the lift and looked at my phone",
    ],
)
def test_criticising_weight_loss_culture_and_letting_an_urge_pass_are_not_body_talk(engine, text):
    assert "body" not in categories(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "i want to disappear under a duvet all weekend",
        "cut myself shaving again, why is it always the ankle",
        "overdosed on christmas films, zero regrets",
        "cooking for myself again feels like taking my life back",
        "wrote a goodbye letter to my eating disorder in therapy today",
    ],
)
def test_everyday_idioms_built_from_crisis_words_do_not_bring_the_card(engine, text):
    assert "crisis" not in categories(engine, text)


@pytest.mark.parametrize(
    "text",
    ["i want to disappear for good", "cut myself again last night", "wrote goodbye letters to my kids tonight"],
)
def test_the_same_words_meant_are_still_crisis(engine, text):
    assert "crisis" in categories(engine, text)


def test_a_note_to_self_is_not_advice(engine):
    assert "advice" not in categories(engine, "note to self: you need to stop saying yes to everything")
    assert "advice" in categories(engine, "you need to stop saying yes to everything")


def test_a_stance_reaches_only_its_own_sentence(engine):
    text = "so sick of detox adverts. anyway skipping dinner tonight to make up for lunch"
    assert "diet" in categories(engine, text)


def test_a_suppress_rule_reaches_only_as_far_as_it_says():
    with pytest.raises(ValueError, match="reach"):
        Engine(["ed_safety"], extra_rules=[{"category": "diet", "phrases": ["so over"], "reach": "sentence"}])
    with pytest.raises(ValueError, match="reach"):
        Engine(["ed_safety"], extra_rules=[{"category": "diet", "suppress": True, "phrases": ["x"], "reach": "page"}])


@pytest.mark.django_db(transaction=True)
async def test_a_member_criticising_diet_culture_in_the_room_posts_as_written(
    channel_layer, circle, member, second_member
):
    words = "so sick of \"guilt-free\" on yoghurt pots. it's yoghurt, it can't commit crimes"
    async with connected(member, circle.slug) as sam, connected(second_member, circle.slug) as alex:
        await sam.send(send("culture-1", words))
        ack = await sam.receive_until("ack")
        assert ack["message"]["body"] == words
        assert ack["message"]["content_warning"] == ""  # no content warning
        seen = (await alex.receive_until("message"))["message"]
        assert seen["seq"] == ack["message"]["seq"]
        assert seen["content_warning"] == ""
    # Posted at once, neither nudged nor collapsed (what the second opinion says later is its own test's business).
    logged = await database_sync_to_async(list)(AuditEntry.objects.filter(group=circle).values_list("kind", flat=True))
    assert "moderation.message.nudged" not in logged
    assert "moderation.message.collapsed" not in logged
