"""A private check-in starts with words for why the facilitator is checking in, never "you've been quiet" for all."""

from console.live import CHECK_IN_WORDS, KIND_CHECK_IN, kind_check_in_text
from console.radar import Reason


def test_every_radar_reason_and_queue_reason_has_its_own_words():
    for reason in [*Reason, "crisis_alert", "flagged_message", "held_message"]:
        assert "{name}" in CHECK_IN_WORDS[reason], reason


def test_only_a_quiet_member_is_told_they_have_been_quiet():
    quiet = {reason for reason, words in CHECK_IN_WORDS.items() if "been quiet" in words}
    assert quiet == {Reason.SILENT}


def test_the_words_are_different_for_a_crisis_and_for_a_held_message():
    crisis, held = kind_check_in_text("Sam", "crisis_alert"), kind_check_in_text("Sam", "held_message")
    assert crisis != held and crisis.startswith("Hi Sam,") and held.startswith("Hi Sam,")
    assert kind_check_in_text("Sam", "something new") == KIND_CHECK_IN.format(name="Sam")
