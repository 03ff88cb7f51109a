"""Off-platform: numbers, handles, emails, addresses and meet-ups are held; helplines are not."""

import pytest

from moderation.engine import Action, get_engine

STAY_HERE = "Let's keep our conversations here in the group, where it's safe for everyone."


@pytest.fixture(scope="module")
def engine():
    return get_engine(("off_platform",))


@pytest.mark.parametrize(
    "text",
    [
        "can i get your number? it'd be easier to talk",
        "dm me if you want to talk more",
        "add me on insta, it's @sunny.days",
        "we should meet up for coffee sometime!",
        "what's your snap?",
        "my email is jess.r@gmail.com",
        "text me at 07700 900123",
        "you can whatsapp me on +44 7911 123456",
        "where do you live? maybe we're close",
        "lets move this off the app",
        "my number is 555 201 3344",
    ],
)
def test_it_holds_requests_and_offers_of_contact_details_or_meetups(engine, text):
    verdict = engine.check(text)
    assert verdict.categories == ("contact",)
    assert engine.action_for(verdict) == Action.HOLD


@pytest.mark.parametrize(
    "text",
    [
        "the crisis line number is 988 in the us",
        "samaritans are on 116 123, they're lovely",
        "call the helpline on 0800 068 4141",
        "i deleted instagram because of all the diet ads",
        "my friends and i meet up on sundays for a walk",
        "call me crazy but i enjoyed the group today",
        "my mom texted me the nicest thing today",
        "i live with my parents right now",
        "my appointment is 2024-05-06",
    ],
)
def test_it_leaves_helplines_and_everyday_mentions_alone(engine, text):
    assert engine.check(text).is_clean


def test_it_finds_a_bare_email_address(engine):
    text = "sam.kay+group@outlook.co.uk"
    (match,) = engine.check(text).matches
    assert (match.start, match.end) == (0, len(text))


def test_it_suggests_keeping_the_conversation_in_the_group(engine):
    assert engine.check("dm me on insta").suggestion == STAY_HERE
