"""The whole decision on one message: the phrase engine's verdict and the second opinion's, combined.

Pure Python, no Django and no model: the scores come in, the outcome goes out, so the rules of
combination are tested and read on their own.

- ``categories``: what the member-facing side acts on. The engine's categories act at once, before
  the message posts (nudge, collapse, hold, resources card). A category only the second opinion
  found is acted on a moment after the message posted: crisis brings the resources card for its
  kind and the crisis alert; any other category brings the author a private, kind follow-up that
  names the agreement, with an edit option (docs/moderation.md, "Outcomes").
- ``alerts``: what goes to the facilitators only. A *possible* crisis (the second opinion is
  worried but not sure) is a quiet "please look" alert; the member sees nothing.
- ``crisis_kind``: which help the card shows (``suicide``, ``self_harm``, ``medical``,
  ``danger_at_home``), whenever crisis is in ``categories`` or an alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from moderation.engine import CATEGORIES, DEFAULT_AGREEMENTS, Action, Engine, Verdict

CRISIS_KINDS: tuple[str, ...] = ("suicide", "self_harm", "medical", "danger_at_home")

CONFIDENT = "confident"  # the member gets the resources card and the facilitators a crisis alert
POSSIBLE = "possible"  # a quiet "please look" alert to the facilitators only

ENGINE = "engine"
SECOND_OPINION = "second_opinion"


@dataclass(frozen=True)
class Scores:
    """The second opinion's probabilities for one message (0–1)."""

    categories: Mapping[str, float]  # one per category in CATEGORIES
    crisis: float  # the crisis score the tiers are read from
    kinds: Mapping[str, float]  # one per crisis kind

    @property
    def likeliest_kind(self) -> str:
        return max(CRISIS_KINDS, key=lambda kind: self.kinds.get(kind, 0.0))

    def __reduce__(self):
        # Read-only mappings do not pickle: across the second opinion's pipe (the model's child to the server)
        # the scores travel as plain dicts and are made read-only again as they arrive.
        return (_scores, (dict(self.categories), self.crisis, dict(self.kinds)))


def _scores(categories: dict[str, float], crisis: float, kinds: dict[str, float]) -> Scores:
    return Scores(categories=MappingProxyType(categories), crisis=crisis, kinds=MappingProxyType(kinds))


@dataclass(frozen=True)
class Thresholds:
    """Where a score becomes an outcome; chosen by cross-validation (train.py) and kept in weights.json."""

    categories: Mapping[str, float]  # per category except crisis: at or above, the category acts
    crisis_confident: float
    crisis_possible: float
    # A possible crisis whose likeliest kind is this sure is confident too: the kind classifiers are sure
    # of medical danger or danger at home told flatly more often than the crisis classifier is (above 1:
    # never; "Choices, measured the same way" in docs/moderation.md).
    crisis_sure_kind: float = 2.0


@dataclass(frozen=True)
class Opinion:
    """What the second opinion alone says about a message."""

    categories: tuple[str, ...]  # confident categories, crisis included when confident
    crisis_tier: str | None  # CONFIDENT, POSSIBLE or None
    crisis_kind: str
    scores: Scores


def form_opinion(scores: Scores, thresholds: Thresholds) -> Opinion:
    found = [
        category
        for category in CATEGORIES
        if category != "crisis" and scores.categories.get(category, 0.0) >= thresholds.categories[category]
    ]
    tier = None
    if scores.crisis >= thresholds.crisis_confident or (
        scores.crisis >= thresholds.crisis_possible and max(scores.kinds.values()) >= thresholds.crisis_sure_kind
    ):
        tier = CONFIDENT
        found.append("crisis")
    elif scores.crisis >= thresholds.crisis_possible:
        tier = POSSIBLE
    return Opinion(categories=tuple(sorted(found)), crisis_tier=tier, crisis_kind=scores.likeliest_kind, scores=scores)


@dataclass(frozen=True)
class Alert:
    """Something only the facilitators are told."""

    kind: str  # "possible_crisis"
    crisis_kind: str | None = None
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "crisis_kind": self.crisis_kind}


@dataclass(frozen=True)
class WholeDecision:
    text: str
    categories: tuple[str, ...]
    action: Action
    suggestion: str | None
    alerts: tuple[Alert, ...]
    crisis_tier: str | None
    crisis_kind: str | None
    engine_categories: tuple[str, ...]
    # Which stage found each category (ENGINE, SECOND_OPINION, or both in that order).
    decided_by: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    scores: Scores | None = None

    @property
    def added_by_second_opinion(self) -> tuple[str, ...]:
        """Categories the engine missed: acted on a moment after the message posted."""
        return tuple(category for category in self.categories if category not in self.engine_categories)

    def to_json(self, *, explain: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {
            "text": self.text,
            "categories": list(self.categories),
            "action": str(self.action),
            "suggestion": self.suggestion,
            "alerts": [alert.to_json() for alert in self.alerts],
            "crisis_kind": self.crisis_kind,
        }
        if explain:
            result["explain"] = {
                "crisis_tier": self.crisis_tier,
                "decided_by": {category: list(stages) for category, stages in self.decided_by.items()},
                "engine": {"categories": list(self.engine_categories)},
                "second_opinion": None
                if self.scores is None
                else {
                    "scores": {category: round(value, 3) for category, value in self.scores.categories.items()},
                    "crisis": round(self.scores.crisis, 3),
                    "kinds": {kind: round(value, 3) for kind, value in self.scores.kinds.items()},
                },
            }
        return result


def combine(
    text: str,
    verdict: Verdict,
    opinion: Opinion | None,
    engine: Engine,
    actions: Mapping[str, Action] | None = None,
) -> WholeDecision:
    """Both stages' findings as one decision. ``opinion`` is None when the second opinion was not
    asked (or shed under load): the decision is then the engine's alone. The second opinion speaks
    only to the categories of the rule sets the group runs (the engine's), as the engine does."""
    covered = {
        category
        for agreement in DEFAULT_AGREEMENTS
        if agreement.ruleset in engine.rulesets
        for category in agreement.categories
    }
    if opinion is not None and "crisis" not in covered and opinion.crisis_tier is not None:
        opinion = Opinion(opinion.categories, None, opinion.crisis_kind, opinion.scores)
    engine_found = set(verdict.categories)
    model_found = set(opinion.categories) & covered if opinion is not None else set()
    categories = tuple(category for category in CATEGORIES if category in engine_found | model_found)
    decided_by = {
        category: tuple(
            stage for stage, found in ((ENGINE, engine_found), (SECOND_OPINION, model_found)) if category in found
        )
        for category in categories
    }
    alerts: tuple[Alert, ...] = ()
    tier = None
    if "crisis" in categories:
        tier = CONFIDENT
    elif opinion is not None and opinion.crisis_tier == POSSIBLE:
        tier = POSSIBLE
        alerts = (Alert("possible_crisis", opinion.crisis_kind, opinion.scores.crisis),)
    crisis_kind = None
    if tier is not None:
        # The engine's crisis phrases do not say which kind; the second opinion's kind scores do.
        crisis_kind = opinion.crisis_kind if opinion is not None else CRISIS_KINDS[0]
    combined = Verdict(categories=tuple(sorted(categories)), matches=verdict.matches, suggestion=verdict.suggestion)
    return WholeDecision(
        text=text,
        categories=combined.categories,
        action=engine.action_for(combined, actions),
        suggestion=verdict.suggestion,
        alerts=alerts,
        crisis_tier=tier,
        crisis_kind=crisis_kind,
        engine_categories=verdict.categories,
        decided_by=MappingProxyType(decided_by),
        scores=opinion.scores if opinion is not None else None,
    )
