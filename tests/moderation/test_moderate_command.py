"""`manage.py moderate`: one message a line in, one JSON verdict a line out."""

import io
import json

import pytest
from django.core.management import CommandError, call_command


def moderate(text: str, *rulesets: str) -> list[dict]:
    out = io.StringIO()
    options = {"rulesets": list(rulesets)} if rulesets else {}
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
        },
        {"text": "i want to die", "categories": ["crisis"], "action": "resources", "suggestion": None},
        {"text": "I hear you, that sounds so hard", "categories": [], "action": "allow", "suggestion": None},
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
