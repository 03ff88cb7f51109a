"""The rule files stay safe to edit: every suppress phrase only narrows, never cancels, a rule."""

import json

import pytest

from moderation.engine import RULESET_DIR, RULESET_NAMES, _macros, expand_phrase


def contiguous_parts(sequence):
    return {sequence[i:j] for i in range(len(sequence)) for j in range(i + 1, len(sequence) + 1)}


@pytest.mark.parametrize("name", RULESET_NAMES)
def test_no_suppress_phrase_cancels_every_use_of_a_rule_phrase(name):
    # A suppress phrase equal to (part of) a rule phrase would switch that rule off for good,
    # usually because an optional "(...)" slot made it shorter than intended.
    data = json.loads((RULESET_DIR / f"{name}.json").read_text())
    macros = _macros()
    parts: dict[str, set] = {}
    for rule in data["rules"]:
        if not rule.get("suppress"):
            for phrase in rule["phrases"]:
                for sequence in expand_phrase(phrase, macros):
                    parts.setdefault(rule["category"], set()).update(contiguous_parts(sequence))
    cancelling = []
    for rule in data["rules"]:
        if rule.get("suppress"):
            for phrase in rule["phrases"]:
                for sequence in expand_phrase(phrase, macros):
                    # One word is enough for a stance that reaches its sentence ("adverts", "coeliac");
                    # a suppress phrase that cancels only the words it overlaps needs two.
                    too_short = len(sequence) < 2 and rule.get("reach", "words") == "words"
                    if too_short or sequence in parts.get(rule["category"], ()):
                        cancelling.append((phrase, " ".join(sequence)))
                        break
    assert cancelling == []


@pytest.mark.parametrize("name", RULESET_NAMES)
def test_each_rule_file_names_itself_and_cites_its_own_agreements(name):
    data = json.loads((RULESET_DIR / f"{name}.json").read_text())
    assert data["name"] == name
    keys = {agreement["key"] for agreement in data["agreements"]}
    for rule in data["rules"]:
        assert rule["agreement"] in keys
