"""The engine is a pure core: no Django, a fixed public API, and rules that are data."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import moderation.engine as engine_module
from moderation.engine import (
    ACTION_SEVERITY,
    CATEGORIES,
    DEFAULT_ACTIONS,
    DEFAULT_AGREEMENTS,
    RULESET_NAMES,
    Action,
    Engine,
    Match,
    Verdict,
    expand_phrase,
    get_engine,
)

ENGINE_FILE = Path(engine_module.__file__)
REPO = ENGINE_FILE.parents[1]


def test_the_engine_source_imports_nothing_from_django():
    tree = ast.parse(ENGINE_FILE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {name for name in imported if name == "django" or name.startswith("django.")}


def test_importing_and_using_the_engine_loads_no_django():
    code = (
        "import sys; import moderation.engine as e; "
        "e.get_engine().check('you should eat 1200 calories'); "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_categories_and_rule_sets_are_named_as_agreed():
    assert CATEGORIES == ("crisis", "judgment", "advice", "numbers", "diet", "body", "self_criticism", "contact")
    assert RULESET_NAMES == ("crisis", "curiosity", "no_advice", "ed_safety", "self_kindness", "off_platform")
    assert set(DEFAULT_ACTIONS) == set(CATEGORIES)
    assert DEFAULT_ACTIONS["crisis"] == Action.RESOURCES
    assert DEFAULT_ACTIONS["diet"] == Action.COLLAPSE
    assert DEFAULT_ACTIONS["contact"] == Action.HOLD
    assert set(ACTION_SEVERITY) == set(Action)
    assert max(ACTION_SEVERITY, key=ACTION_SEVERITY.__getitem__) == Action.RESOURCES


def test_every_rule_set_has_an_agreement_and_every_category_is_covered():
    assert {agreement.ruleset for agreement in DEFAULT_AGREEMENTS} == set(RULESET_NAMES)
    covered = {category for agreement in DEFAULT_AGREEMENTS for category in agreement.categories}
    assert covered == set(CATEGORIES)
    keys = [agreement.key for agreement in DEFAULT_AGREEMENTS]
    assert len(keys) == len(set(keys))
    no_numbers = next(agreement for agreement in DEFAULT_AGREEMENTS if agreement.key == "no_numbers")
    assert no_numbers.text == "We talk about food and bodies without numbers."


def test_a_verdict_is_frozen_sorted_and_points_into_the_text():
    text = "I weigh 120 lbs and you should just eat more"
    verdict = get_engine().check(text)
    assert isinstance(verdict, Verdict)
    assert verdict.categories == ("advice", "numbers")
    assert all(isinstance(match, Match) for match in verdict.matches)
    assert [text[m.start : m.end] for m in verdict.matches] == ["120 lbs", "you should just"]
    with pytest.raises(AttributeError):
        verdict.categories = ()


def test_a_clean_message_is_allowed():
    engine = get_engine()
    verdict = engine.check("I hear you, that sounds so hard")
    assert verdict.is_clean and verdict.suggestion is None
    assert engine.action_for(verdict) == Action.ALLOW
    assert engine.check("").is_clean


def test_the_most_severe_action_wins_when_a_message_breaks_several_agreements():
    engine = get_engine()
    verdict = engine.check("i'm on keto, dm me")
    assert verdict.categories == ("contact", "diet")
    assert engine.action_for(verdict) == Action.HOLD
    # A nudge asks the writer first; the diet collapse is never a silent stand-in for it.
    assert engine.action_for(verdict, {"contact": Action.NUDGE}) == Action.NUDGE
    assert engine.content_warning_for(verdict, {"contact": Action.NUDGE}) == "food"
    assert engine.action_for(verdict, {"diet": "block"}) == Action.BLOCK


def test_an_unknown_rule_set_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="'kindness'.*crisis, curiosity, no_advice"):
        Engine(["kindness"])


def test_only_the_chosen_rule_sets_apply():
    engine = Engine(["no_advice"])
    assert engine.rulesets == ("no_advice",)
    assert engine.check("you should dm me, i weigh 120 lbs").categories == ("advice",)
    assert Engine([]).check("i want to die").is_clean


def test_get_engine_is_cached_per_rule_set_tuple():
    assert get_engine(("crisis",)) is get_engine(("crisis",))
    assert get_engine(("crisis",)) is not get_engine(("crisis", "no_advice"))


def test_extra_rules_extend_a_category_without_editing_the_files():
    engine = Engine(["ed_safety"], extra_rules=[{"category": "diet", "phrases": ["macro (friendly|counting)"]}])
    (match,) = engine.check("this macro friendly recipe").matches
    assert (match.category, match.ruleset, match.agreement_key) == ("diet", "ed_safety", "no_diet_talk")
    with pytest.raises(ValueError, match="not one of"):
        Engine([], extra_rules=[{"category": "gossip", "phrases": ["tea"]}])


def test_phrase_syntax_expands_choices_optional_words_and_shared_spellings():
    assert expand_phrase("i (really) hate|loathe myself", {}) == [
        ("i", "hate", "myself"),
        ("i", "loathe", "myself"),
        ("i", "really", "hate", "myself"),
        ("i", "really", "loathe", "myself"),
    ]
    assert expand_phrase("{you} should_not", {"you": ["you", "u"]}) == [
        ("u", "should", "not"),
        ("you", "should", "not"),
    ]
    assert expand_phrase("don't #", {}) == [("dont", "#")]
    with pytest.raises(ValueError, match="does not define"):
        expand_phrase("{nobody}", {})


def test_tokens_ignore_case_curly_apostrophes_and_stretched_letters():
    engine = get_engine(("self_kindness",))
    for text in ["I’M SO STUPID", "im soooo stupid", "i'm so stupid!!!", "i’m so stupid 😩"]:
        assert engine.check(text).categories == ("self_criticism",), text
