"""The classifiers on top of the encoder: logistic regressions whose weights are data (weights.json).

``python -m moderation.second_opinion.train`` writes ``weights.json`` from the labelled messages in
``moderation/data/``; this module only reads it (numpy, no scikit-learn at run time).

Per category, p = sigmoid(w · features + b). Crisis has one such classifier and one per kind
(suicide, self-harm, medical danger, danger at home); its score is the mean of the crisis
classifier's probability and the likeliest kind's, because each kind is its own cluster of
wording that one straight boundary serves less well than four.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

import numpy as np

from moderation.engine import CATEGORIES

from .decision import CRISIS_KINDS, Scores, Thresholds

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights.json"


@dataclass(frozen=True)
class Classifier:
    weights: np.ndarray  # (features, outputs): CATEGORIES then CRISIS_KINDS
    bias: np.ndarray  # (outputs,)
    thresholds: Thresholds
    about: dict  # the model, the data and the cross-validation figures it was trained with

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Classifier:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = [*CATEGORIES, *CRISIS_KINDS]
        outputs = data["outputs"]
        missing = [name for name in names if name not in outputs]
        if missing:
            raise ValueError(f"{path} has no classifier for {', '.join(missing)}; re-run the training.")
        weights = np.array([outputs[name]["weights"] for name in names], dtype=np.float32).T
        bias = np.array([outputs[name]["bias"] for name in names], dtype=np.float32)
        limits = data["thresholds"]
        thresholds = Thresholds(
            categories=MappingProxyType({name: float(limits["categories"][name]) for name in CATEGORIES[1:]}),
            crisis_confident=float(limits["crisis_confident"]),
            crisis_possible=float(limits["crisis_possible"]),
            crisis_sure_kind=float(limits.get("crisis_sure_kind", 2.0)),
        )
        return cls(weights=weights, bias=bias, thresholds=thresholds, about=data.get("about", {}))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(messages, outputs) probabilities, outputs in CATEGORIES then CRISIS_KINDS order."""
        logits = features @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))

    def scores(self, features: np.ndarray) -> list[Scores]:
        return [scores_from(row) for row in self.probabilities(features)]


def scores_from(row: np.ndarray) -> Scores:
    categories = {name: float(row[index]) for index, name in enumerate(CATEGORIES)}
    kinds = {name: float(row[len(CATEGORIES) + index]) for index, name in enumerate(CRISIS_KINDS)}
    crisis = (categories["crisis"] + max(kinds.values())) / 2
    return Scores(categories=MappingProxyType(categories), crisis=crisis, kinds=MappingProxyType(kinds))


@cache
def get_classifier() -> Classifier:
    return Classifier.load()
