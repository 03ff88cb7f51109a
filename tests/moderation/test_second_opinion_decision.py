"""How the phrase engine's verdict and the second opinion's scores become one decision (no model needed)."""

from types import MappingProxyType

from moderation.engine import CATEGORIES, Action, Engine, get_engine
from moderation.second_opinion import CONFIDENT, POSSIBLE, Scores, Thresholds, combine, form_opinion

THRESHOLDS = Thresholds(
    categories=MappingProxyType({category: 0.9 for category in CATEGORIES[1:]}),
    crisis_confident=0.8,
    crisis_possible=0.5,
)


def scores(crisis=0.0, kind="suicide", **categories):
    values = {category: categories.get(category, 0.0) for category in CATEGORIES}
    values["crisis"] = crisis
    kinds = {name: 0.0 for name in ("suicide", "self_harm", "medical", "danger_at_home")} | {kind: crisis}
    return Scores(categories=MappingProxyType(values), crisis=crisis, kinds=MappingProxyType(kinds))


def decide(text, score, engine=None):
    engine = engine or get_engine()
    return combine(text, engine.check(text), form_opinion(score, THRESHOLDS), engine)


def test_a_confident_crisis_the_engine_missed_brings_the_card_for_its_kind():
    decision = decide("i can't stand up without everything going black", scores(crisis=0.93, kind="medical"))
    assert decision.categories == ("crisis",)
    assert decision.action == Action.RESOURCES
    assert decision.crisis_tier == CONFIDENT and decision.crisis_kind == "medical"
    assert decision.alerts == ()
    assert decision.added_by_second_opinion == ("crisis",)
    assert decision.decided_by == {"crisis": ("second_opinion",)}


def test_a_possible_crisis_only_alerts_the_facilitators():
    decision = decide("he gets home at six. i keep checking the clock", scores(crisis=0.6, kind="danger_at_home"))
    assert decision.categories == () and decision.action == Action.ALLOW
    assert decision.crisis_tier == POSSIBLE
    assert [alert.to_json() for alert in decision.alerts] == [
        {"kind": "possible_crisis", "crisis_kind": "danger_at_home"}
    ]
    assert decision.crisis_kind == "danger_at_home"


def test_a_possible_crisis_whose_kind_is_sure_brings_the_card():
    # "he pinned me to the fridge again": the crisis score is middling, the danger-at-home classifier is sure.
    sure = Thresholds(THRESHOLDS.categories, crisis_confident=0.8, crisis_possible=0.5, crisis_sure_kind=0.98)
    text = "he pinned me against the fridge again last night, anyway how was everyone's weekend"
    engine = get_engine()
    kinds = {"suicide": 0.01, "self_harm": 0.02, "medical": 0.05, "danger_at_home": 0.99}
    score = Scores(MappingProxyType({c: 0.0 for c in CATEGORIES} | {"crisis": 0.3}), 0.65, MappingProxyType(kinds))
    decision = combine(text, engine.check(text), form_opinion(score, sure), engine)
    assert decision.crisis_tier == CONFIDENT and decision.categories == ("crisis",)
    assert decision.crisis_kind == "danger_at_home" and decision.alerts == ()

    unsure = Scores(score.categories, 0.65, MappingProxyType(kinds | {"danger_at_home": 0.9}))
    decision = combine(text, engine.check(text), form_opinion(unsure, sure), engine)
    assert decision.crisis_tier == POSSIBLE and decision.categories == ()

    below_the_alert = Scores(score.categories, 0.4, MappingProxyType(kinds))
    assert form_opinion(below_the_alert, sure).crisis_tier is None


def test_the_engines_crisis_stays_confident_and_takes_the_models_kind():
    decision = decide("cut again last night", scores(crisis=0.3, kind="self_harm"))
    assert decision.categories == ("crisis",) and decision.alerts == ()
    assert decision.crisis_tier == CONFIDENT and decision.crisis_kind == "self_harm"
    assert decision.decided_by == {"crisis": ("engine",)}


def test_the_engines_categories_stand_when_the_model_disagrees():
    decision = decide("you should just eat more", scores(advice=0.1))
    assert decision.categories == ("advice",) and decision.action == Action.NUDGE
    assert decision.suggestion == "What do you need right now?"


def test_a_category_both_found_says_so_and_a_low_score_adds_nothing():
    decision = decide("you should just eat more", scores(advice=0.97, judgment=0.4))
    assert decision.decided_by == {"advice": ("engine", "second_opinion")}


def test_without_a_second_opinion_the_decision_is_the_engines_alone():
    engine = get_engine()
    text = "i weigh 120 lbs"
    decision = combine(text, engine.check(text), None, engine)
    assert decision.categories == ("numbers",) and decision.alerts == () and decision.crisis_kind is None


def test_the_model_speaks_only_to_the_rule_sets_the_group_runs():
    engine = Engine(["no_advice"])
    decision = decide("some text", scores(crisis=0.95, diet=0.99), engine)
    assert decision.categories == () and decision.alerts == () and decision.crisis_tier is None


def test_explain_names_the_stage_and_the_scores():
    decision = decide("you should just eat more", scores(advice=0.97))
    explained = decision.to_json(explain=True)
    assert explained["explain"]["decided_by"] == {"advice": ["engine", "second_opinion"]}
    assert explained["explain"]["second_opinion"]["scores"]["advice"] == 0.97
    assert set(decision.to_json()) == {"text", "categories", "action", "suggestion", "alerts", "crisis_kind"}
