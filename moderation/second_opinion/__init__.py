"""The semantic second opinion: a small language model beside the phrase engine, never instead of it.

It reads a message as a whole (all-MiniLM-L6-v2, int8, ONNX Runtime on one CPU thread) and asks
trained classifiers which agreements it touches and whether the writer may be in danger, and of
which kind. It runs off the hot path (``worker.SecondOpinionWorker``), a moment after the
message posted. No Django import here either: the chat and the commands wrap it.

    from moderation.second_opinion import get_second_opinion, decide

    opinion = get_second_opinion().review(text)               # Opinion (model alone)
    decision = decide(text, engine, actions=group_actions)    # WholeDecision (both stages)

Everything heavy (numpy, onnxruntime, the model) loads on first use, not on import.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from moderation.engine import Action, Engine

from .decision import (
    CONFIDENT,
    CRISIS_KINDS,
    POSSIBLE,
    Alert,
    Opinion,
    Scores,
    Thresholds,
    WholeDecision,
    combine,
    form_opinion,
)

__all__ = [
    "CONFIDENT",
    "CRISIS_KINDS",
    "POSSIBLE",
    "Alert",
    "Opinion",
    "Scores",
    "SecondOpinion",
    "Thresholds",
    "WholeDecision",
    "combine",
    "decide",
    "form_opinion",
    "get_second_opinion",
]


class SecondOpinion:
    """The encoder and the classifiers together. One per process (``get_second_opinion``)."""

    def __init__(self, encoder=None, classifier=None) -> None:
        from .classifier import get_classifier
        from .encoder import get_encoder

        self.encoder = encoder if encoder is not None else get_encoder()
        self.classifier = classifier if classifier is not None else get_classifier()

    def scores(self, texts: list[str]) -> list[Scores]:
        return self.classifier.scores(self.encoder.features(texts))

    def review_many(self, texts: list[str]) -> list[Opinion]:
        return [form_opinion(scores, self.classifier.thresholds) for scores in self.scores(texts)]

    def review(self, text: str) -> Opinion:
        (opinion,) = self.review_many([text])
        return opinion


_SECOND_OPINION: SecondOpinion | None = None
_LOCK = threading.Lock()


def get_second_opinion() -> SecondOpinion:
    """The process's one second opinion, loaded on first use (about a second; about 130 MB with its libraries)."""
    global _SECOND_OPINION
    if _SECOND_OPINION is None:
        with _LOCK:
            if _SECOND_OPINION is None:
                _SECOND_OPINION = SecondOpinion()
    return _SECOND_OPINION


def decide(
    text: str,
    engine: Engine,
    *,
    actions: Mapping[str, Action] | None = None,
    recipient_wants_no_advice: bool = False,
    opinion: Opinion | None = None,
    second_opinion: SecondOpinion | None = None,
) -> WholeDecision:
    """The whole decision on one message, both stages (synchronously: for commands and reports)."""
    verdict = engine.check(text, recipient_wants_no_advice=recipient_wants_no_advice)
    if opinion is None:
        opinion = (second_opinion or get_second_opinion()).review(text)
    return combine(text, verdict, opinion, engine, actions)
