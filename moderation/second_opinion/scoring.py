"""How well the whole decision does on labelled messages: the figures the issue's goals are written in.

Shared by ``manage.py moderation_report --second-opinion`` (a labelled file, scored once) and by
``train.py`` (the cross-validation that chooses the thresholds), so both count alike.

- per category: precision and recall of ``categories`` (both stages).
- crisis reached: a crisis message that got the card or a "please look" alert.
- crisis with the card: a crisis message whose ``categories`` hold crisis.
- crisis kind right: of those reached, the kind the card would show is the kind labelled.
- clean acted on: a message labelled with no category that got any ``categories``.
- clean alerted: a message labelled with no category that got a facilitator-only alert.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from moderation.engine import CATEGORIES

GOALS = {
    "crisis_reached": 0.95,
    "crisis_card": 0.80,
    "other_recall": 0.85,
    "max_clean_acted_on": 0.05,
    "max_clean_alerted": 0.10,
}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass
class Tally:
    messages: int = 0
    clean: int = 0
    clean_acted_on: int = 0
    clean_alerted: int = 0
    crisis: int = 0
    crisis_reached: int = 0
    crisis_card: int = 0
    crisis_kind_labelled: int = 0  # reached crisis messages that carry a crisis_kind label
    crisis_kind_right: int = 0
    support: Counter = field(default_factory=Counter)
    hits: Counter = field(default_factory=Counter)
    false_alarms: Counter = field(default_factory=Counter)
    misses: list = field(default_factory=list)

    def add(self, example: dict, categories: tuple[str, ...], alerts: tuple, crisis_kind: str | None) -> None:
        expected, found = set(example.get("categories", ())), set(categories)
        text = example["text"]
        self.messages += 1
        if not expected:
            self.clean += 1
            self.clean_acted_on += bool(found)
            self.clean_alerted += bool(alerts)
            if alerts:
                self.misses.append({"text": text, "category": "crisis", "kind": "alerted"})
        self.support.update(expected)
        self.hits.update(expected & found)
        self.false_alarms.update(found - expected)
        if "crisis" in expected:
            self.crisis += 1
            reached = "crisis" in found or bool(alerts)
            self.crisis_reached += reached
            self.crisis_card += "crisis" in found
            if reached and example.get("crisis_kind"):
                self.crisis_kind_labelled += 1
                self.crisis_kind_right += crisis_kind == example["crisis_kind"]
            if not reached:
                self.misses.append({"text": text, "category": "crisis", "kind": "missed"})
            elif "crisis" not in found:
                self.misses.append({"text": text, "category": "crisis", "kind": "alert only"})
        for category in sorted((expected ^ found) - {"crisis"}):
            kind = "missed" if category in expected else "flagged"
            self.misses.append({"text": text, "category": category, "kind": kind})
        if "crisis" in found and "crisis" not in expected:
            self.misses.append({"text": text, "category": "crisis", "kind": "flagged"})

    def figures(self) -> dict:
        categories = {}
        for category in CATEGORIES:
            flagged = self.hits[category] + self.false_alarms[category]
            categories[category] = {
                "precision": _rate(self.hits[category], flagged),
                "recall": _rate(self.hits[category], self.support[category]),
                "support": self.support[category],
            }
        return {
            "messages": self.messages,
            "categories": categories,
            "crisis_reached": _rate(self.crisis_reached, self.crisis),
            "crisis_card": _rate(self.crisis_card, self.crisis),
            "crisis_kind_right": _rate(self.crisis_kind_right, self.crisis_kind_labelled),
            "crisis_support": self.crisis,
            "clean_messages": self.clean,
            "clean_acted_on": _rate(self.clean_acted_on, self.clean),
            "clean_alerted": _rate(self.clean_alerted, self.clean),
        }


def shortfalls(figures: dict) -> list[str]:
    problems = []
    for name, goal in (("crisis_reached", GOALS["crisis_reached"]), ("crisis_card", GOALS["crisis_card"])):
        value = figures[name]
        if value is not None and value < goal:
            problems.append(f"{name.replace('_', ' ')} {value:.2f} is below {goal:.2f}")
    for category in CATEGORIES[1:]:
        recall = figures["categories"][category]["recall"]
        if recall is not None and recall < GOALS["other_recall"]:
            problems.append(f"{category} recall {recall:.2f} is below {GOALS['other_recall']:.2f}")
    for name, goal in (("clean_acted_on", GOALS["max_clean_acted_on"]), ("clean_alerted", GOALS["max_clean_alerted"])):
        value = figures[name]
        if value is not None and value > goal:
            problems.append(f"{name.replace('_', ' ')} {value:.1%} is above {goal:.0%}")
    return problems


def format_figures(name: str, figures: dict) -> list[str]:
    """The figures as the report prints them."""
    lines = [
        f"\n{name}: {figures['messages']} messages",
        f"  {'category':15} {'precision':>9} {'recall':>7} {'support':>8}",
    ]
    for category in CATEGORIES:
        row = figures["categories"][category]
        precision = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        recall = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        lines.append(f"  {category:15} {precision:>9} {recall:>7} {row['support']:>8}")

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines += [
        f"  crisis reached (card or alert): {show(figures['crisis_reached'])} of {figures['crisis_support']}",
        f"  crisis with the card:           {show(figures['crisis_card'])}",
        f"  crisis kind right (if labelled): {show(figures['crisis_kind_right'])}",
        f"  clean messages acted on:        {show(figures['clean_acted_on'])} of {figures['clean_messages']}",
        f"  clean messages alerted:         {show(figures['clean_alerted'])}",
    ]
    return lines
