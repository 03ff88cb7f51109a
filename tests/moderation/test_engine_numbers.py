"""Eating-disorder safety, numbers: weights, calories, sizes and BMI, but not kids or clocks."""

import pytest

from moderation.engine import get_engine


@pytest.fixture(scope="module")
def engine():
    return get_engine(("ed_safety",))


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("i weighed 98 lbs at my lowest", "98 lbs"),
        ("i'm eating like 1200 calories a day", "1200 calories"),
        ("1200cal is my limit", "1200cal"),
        ("my bmi was 15.8 when i was admitted", "15.8"),
        ("i was a size 0 in high school", "a size 0"),
        ("28 inch waist and i still hate it", "28 inch"),
        ("i hit 10k steps every day or i panic", "10k steps"),
        ("two pounds up since monday", "two pounds"),
        ("only ate 600 today", "600"),
        ("scale said 142 this morning", "142"),
        ("my gw is 100", "100"),
        ("had 4 biscuits and then just stopped", "4"),
        ("finished two full bowls of pasta at my nan's", "two"),
        ("demolished 8 nuggets in the car before going home", "8"),
    ],
)
def test_it_flags_a_weight_size_or_calorie_count_with_its_unit_or_cue(engine, text, span):
    verdict = engine.check(text)
    assert "numbers" in verdict.categories
    numbers = [m for m in verdict.matches if m.category == "numbers"]
    assert [text[m.start : m.end] for m in numbers] == [span]


@pytest.mark.parametrize(
    "text",
    [
        "i have 3 kids so evenings are chaos",
        "session starts at 6 right? or is it 7pm",
        "2 years in recovery today!!",
        "i slept 5 hours and im running on coffee",
        "day 14 of no behaviours",
        "i'm 34 and only just learning how to rest",
        "had 3 meals and 2 snacks today, all of them",
        "the group size is 8 right?",
        "it cost me 20 pounds to get a taxi home",
        "£5 for a coffee, london is wild",
        "we're on step 4 of the 12 steps",
        "under 18s aren't allowed in the group",
    ],
)
def test_it_leaves_kids_times_and_years_in_recovery_alone(engine, text):
    assert "numbers" not in engine.check(text).categories


def test_its_suggestion_is_the_same_message_without_the_numbers(engine):
    verdict = engine.check("i lost 20 pounds and im a size 2 now")
    assert verdict.suggestion == "i lost some and im that size now"
    assert "20" not in verdict.suggestion and "2" not in verdict.suggestion


def test_its_suggestion_keeps_the_verb_around_a_cued_number(engine):
    assert engine.check("i only ate 800 today").suggestion == "i only ate some today"


def test_a_count_of_what_someone_ate_is_a_number_but_a_meal_plan_is_not(engine):
    # Counts invite comparison ("only 2 crackers") the way calories do; the plan's shape does not.
    assert engine.check("i ate 3 cookies and it was fine").suggestion == "i ate some cookies and it was fine"
    assert "numbers" in engine.check("1 slice of toast and a black coffee, called it lunch").categories
    assert "numbers" not in engine.check("had 3 meals and 2 snacks today, all of them").categories
    assert "numbers" not in engine.check("made 24 cupcakes for the school bake sale").categories


def test_weight_change_with_a_number_is_body_talk_too():
    assert get_engine().check("i've gained 10 pounds since starting treatment").categories == ("body", "numbers")
