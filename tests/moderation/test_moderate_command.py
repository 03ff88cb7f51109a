"""`manage.py moderate`: one message a line in, one JSON verdict a line out."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from moderation.engine import CATEGORIES


def moderate(text: str, *rulesets: str, **options) -> list[dict]:
    out = io.StringIO()
    if rulesets:
        options["rulesets"] = list(rulesets)
    call_command("moderate", stdin=io.StringIO(text), stdout=out, **options)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_writes_one_verdict_per_message_with_action_and_suggestion():
    results = moderate("you should just eat more\ni want to die\nI hear you, that sounds so hard\n")
    assert results == [
        {
            "text": "you should just eat more",
            "categories": ["advice"],
            "action": "nudge",
            "suggestion": "What do you need right now?",
            "alerts": [],
            "crisis_kind": None,
        },
        {
            "text": "i want to die",
            "categories": ["crisis"],
            "action": "resources",
            "suggestion": None,
            "alerts": [],
            "crisis_kind": "suicide",
        },
        {
            "text": "I hear you, that sounds so hard",
            "categories": [],
            "action": "allow",
            "suggestion": None,
            "alerts": [],
            "crisis_kind": None,
        },
    ]


def test_it_skips_blank_lines():
    assert [result["text"] for result in moderate("\nhello\n   \n\nbye\n")] == ["hello", "bye"]


def test_it_applies_only_the_rule_sets_named():
    (result,) = moderate("dm me, i weigh 120 lbs\n", "off_platform")
    assert result["categories"] == ["contact"]
    assert result["action"] == "hold"


def test_it_applies_every_rule_set_when_none_is_named():
    (result,) = moderate("dm me, i weigh 120 lbs\n")
    assert result["categories"] == ["contact", "numbers"]


def test_it_refuses_an_unknown_rule_set_and_lists_the_valid_ones():
    with pytest.raises(CommandError, match="Unknown rule set kindness. Choose from: crisis, curiosity"):
        moderate("hello\n", "kindness")


def test_it_keeps_emoji_and_accents_as_written():
    (result,) = moderate("café with friends 💛\n")
    assert result["text"] == "café with friends 💛"


def test_a_crisis_without_keywords_gets_the_card_for_its_kind_from_the_second_opinion():
    text = "he's hitting mum again and i'm scared he's coming upstairs next"
    (engine_only,) = moderate(text + "\n", engine_only=True)
    assert engine_only["categories"] == [] and engine_only["action"] == "allow"
    (result,) = moderate(text + "\n")
    assert result["categories"] == ["crisis"]
    assert result["action"] == "resources"
    assert result["crisis_kind"] == "danger_at_home"


def test_explain_says_which_stage_decided_and_its_scores():
    (result,) = moderate("you should just eat more\n", explain=True)
    explained = result["explain"]
    assert "engine" in explained["decided_by"]["advice"]
    assert set(explained["second_opinion"]["scores"]) == set(CATEGORIES)
    assert set(explained["second_opinion"]["kinds"]) == {"suicide", "self_harm", "medical", "danger_at_home"}
    assert explained["crisis_tier"] is None


def test_many_lines_come_back_one_each_in_order():
    lines = [f"message number {n}, nothing much" for n in range(40)]
    assert [result["text"] for result in moderate("\n".join(lines) + "\n")] == lines
