"""How well the guideline engine does on the labelled messages in moderation/data/.

By default it reads the phrase engine's own sets: labelled.jsonl, blind.jsonl and blind2.jsonl (batches
written without looking at the rules, and tuned on since). Later blind sets (blind3.jsonl on) were
written for the whole decision and are scored with ``--data FILE --second-opinion``.
Prints precision, recall and support per category, for the whole set and for each split ("dev": the
rules were tuned on it; "holdout": written after the rules but then tuned on; "blind", "blind2": written
before reading the rules), and the share of messages with no category that were flagged anyway. Exits
non-zero when the whole set misses a target, so CI notices a rule change that costs recall or adds
false alarms.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moderation.engine import CATEGORIES, Engine, get_engine

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_DATA = DATA_DIR / "labelled.jsonl"


# The sets the phrase rules were written and tuned against (docs/moderation.md).
PHRASE_ENGINE_SETS = ("labelled.jsonl", "blind.jsonl", "blind2.jsonl")


def default_sets() -> list[Path]:
    """The phrase engine's own sets (see the module docstring)."""
    return [DATA_DIR / name for name in PHRASE_ENGINE_SETS]


# Crisis recall matters most: a missed crisis is someone who did not see where to get help.
MIN_RECALL = {category: 0.85 for category in CATEGORIES} | {"crisis": 0.95}
MAX_FLAGGED_CLEAN = 0.05


@dataclass
class Tally:
    messages: int = 0
    clean: int = 0  # messages labelled with no category
    clean_flagged: int = 0
    support: Counter = field(default_factory=Counter)
    hits: Counter = field(default_factory=Counter)
    false_alarms: Counter = field(default_factory=Counter)
    misses: list = field(default_factory=list)

    def add(self, text: str, expected: set[str], found: set[str]) -> None:
        self.messages += 1
        if not expected:
            self.clean += 1
            self.clean_flagged += bool(found)
        self.support.update(expected)
        self.hits.update(expected & found)
        self.false_alarms.update(found - expected)
        for category in sorted(expected ^ found):
            kind = "missed" if category in expected else "flagged"
            self.misses.append({"text": text, "category": category, "kind": kind})

    def figures(self) -> dict:
        categories = {}
        for category in CATEGORIES:
            found = self.hits[category] + self.false_alarms[category]
            support = self.support[category]
            categories[category] = {
                "precision": round(self.hits[category] / found, 3) if found else None,
                "recall": round(self.hits[category] / support, 3) if support else None,
                "support": support,
            }
        rate = self.clean_flagged / self.clean if self.clean else 0.0
        return {
            "messages": self.messages,
            "no_category_messages": self.clean,
            "no_category_flagged": self.clean_flagged,
            "no_category_flagged_rate": round(rate, 4),
            "categories": categories,
        }


def load_examples(path: Path) -> list[dict]:
    examples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
            except json.JSONDecodeError as error:
                raise CommandError(f"{path}:{number} is not valid JSON ({error.msg}).") from error
            unknown = set(example.get("categories", ())) - set(CATEGORIES)
            if unknown:
                raise CommandError(f"{path}:{number} has unknown categories: {', '.join(sorted(unknown))}.")
            examples.append(example)
    return examples


def evaluate(engine: Engine, examples: list[dict]) -> dict[str, Tally]:
    """Tallies for the whole set ("all") and for each split."""
    tallies: dict[str, Tally] = {"all": Tally()}
    for example in examples:
        verdict = engine.check(
            example["text"], recipient_wants_no_advice=bool(example.get("recipient_wants_no_advice", False))
        )
        expected, found = set(example.get("categories", ())), set(verdict.categories)
        split = example.get("split", "dev")
        for name in ("all", split):
            tallies.setdefault(name, Tally()).add(example["text"], expected, found)
    return tallies


def shortfalls(figures: dict) -> list[str]:
    problems = []
    for category, target in MIN_RECALL.items():
        recall = figures["categories"][category]["recall"]
        if recall is not None and recall < target:
            problems.append(f"{category} recall {recall:.2f} is below {target:.2f}")
    rate = figures["no_category_flagged_rate"]
    if rate > MAX_FLAGGED_CLEAN:
        problems.append(f"{rate:.1%} of messages with no category were flagged (at most {MAX_FLAGGED_CLEAN:.0%})")
    return problems


def evaluate_both_stages(examples: list[dict], paths: list[Path]) -> dict:
    """Tallies of the whole decision (phrase engine and second opinion) for the whole set and each split."""
    from moderation.second_opinion import combine, get_second_opinion
    from moderation.second_opinion.scoring import Tally as WholeTally

    engine = get_engine()
    second_opinion = get_second_opinion()
    tallies: dict[str, WholeTally] = {"all": WholeTally()}
    for start in range(0, len(examples), 32):
        batch = examples[start : start + 32]
        opinions = second_opinion.review_many([example["text"] for example in batch])
        for example, opinion in zip(batch, opinions, strict=True):
            verdict = engine.check(
                example["text"], recipient_wants_no_advice=bool(example.get("recipient_wants_no_advice", False))
            )
            decision = combine(example["text"], verdict, opinion, engine)
            split = example.get("split") or example.get("source") or example["_file"]
            for name in ("all", split):
                tallies.setdefault(name, WholeTally()).add(
                    example, decision.categories, decision.alerts, decision.crisis_kind
                )
    return tallies


class Command(BaseCommand):
    help = "Score the guideline engine on the labelled messages; exit non-zero if a target is missed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--data",
            type=Path,
            action="append",
            help=(
                "A JSON-lines file of labelled messages; repeat for several "
                "(default: labelled.jsonl, blind.jsonl, blind2.jsonl)."
            ),
        )
        parser.add_argument(
            "--json",
            dest="json_path",
            nargs="?",
            const="-",
            metavar="PATH",
            help="Write the figures as JSON to PATH (or to standard output if no path is given).",
        )
        parser.add_argument("--show-misses", action="store_true", help="List each missed or wrongly flagged message.")
        parser.add_argument(
            "--second-opinion",
            action="store_true",
            help=(
                "Score the whole decision, phrase engine and second opinion: per-category precision and "
                "recall, crisis reached (card or alert), crisis with the card, clean messages acted on and alerted."
            ),
        )

    def handle(
        self,
        *args,
        data=None,
        json_path: str | None = None,
        show_misses: bool = False,
        second_opinion: bool = False,
        **options,
    ):
        paths = default_sets() if not data else [data] if isinstance(data, (str, Path)) else list(data)
        paths = [Path(path) for path in paths]
        examples = [example | {"_file": path.stem} for path in paths for example in load_examples(path)]
        if not examples:
            raise CommandError(f"{', '.join(map(str, paths))} has no labelled messages.")
        if second_opinion:
            return self._both_stages(examples, paths, json_path, show_misses)
        tallies = evaluate(get_engine(), examples)
        figures = {name: tally.figures() for name, tally in tallies.items()}
        problems = shortfalls(figures["all"])
        report = {
            "data": [str(path) for path in paths],
            "targets": {"min_recall": MIN_RECALL, "max_no_category_flagged_rate": MAX_FLAGGED_CLEAN},
            "splits": figures,
            "passed": not problems,
            "shortfalls": problems,
        }
        self._output(report, json_path, lambda: self._print(figures, problems))
        self._misses(tallies, show_misses)
        if problems:
            raise CommandError("Moderation quality is below target: " + "; ".join(problems) + ".")

    def _output(self, report: dict, json_path: str | None, print_figures) -> None:
        if json_path == "-":
            self.stdout.write(json.dumps(report, indent=2))
            return
        print_figures()
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(f"Figures written to {json_path}.")

    def _misses(self, tallies: dict, show_misses: bool) -> None:
        if show_misses:
            for name in sorted(name for name in tallies if name != "all"):
                for miss in tallies[name].misses:
                    self.stdout.write(f"  {name:8} {miss['kind']:10} {miss['category']:15} {miss['text']}")

    def _both_stages(self, examples: list[dict], paths: list[Path], json_path: str | None, show_misses: bool) -> None:
        from moderation.second_opinion.scoring import GOALS, format_figures
        from moderation.second_opinion.scoring import shortfalls as whole_shortfalls

        tallies = evaluate_both_stages(examples, paths)
        figures = {name: tally.figures() for name, tally in tallies.items()}
        problems = whole_shortfalls(figures["all"])
        report = {
            "data": [str(path) for path in paths],
            "stages": ["engine", "second_opinion"],
            "goals": GOALS,
            "splits": figures,
            "passed": not problems,
            "shortfalls": problems,
        }

        def print_figures() -> None:
            for name in ["all", *sorted(name for name in figures if name != "all")]:
                if name != "all" and len(figures) == 2:
                    continue  # one split: the same figures again
                self.stdout.write("\n".join(format_figures(name, figures[name])))
            self.stdout.write("")
            self.stdout.write(
                ("Below goal: " + "; ".join(problems) + ".")
                if problems
                else "All goals met: crisis reached >= 0.95, crisis with the card >= 0.80, other recall >= 0.85, "
                "clean acted on <= 5%, clean alerted <= 10%."
            )

        self._output(report, json_path, print_figures)
        self._misses(tallies, show_misses)
        if problems:
            raise CommandError("The whole decision is below goal: " + "; ".join(problems) + ".")

    def _print(self, figures: dict, problems: list[str]) -> None:
        order = ["all"] + sorted(name for name in figures if name != "all")
        for name in order:
            split = figures[name]
            self.stdout.write(f"\n{name}: {split['messages']} messages")
            self.stdout.write(f"  {'category':15} {'precision':>9} {'recall':>7} {'support':>8}")
            for category in CATEGORIES:
                row = split["categories"][category]
                precision = "-" if row["precision"] is None else f"{row['precision']:.2f}"
                recall = "-" if row["recall"] is None else f"{row['recall']:.2f}"
                self.stdout.write(f"  {category:15} {precision:>9} {recall:>7} {row['support']:>8}")
            self.stdout.write(
                f"  no category: {split['no_category_flagged']} of {split['no_category_messages']} flagged "
                f"({split['no_category_flagged_rate']:.1%})"
            )
        self.stdout.write("")
        if problems:
            self.stdout.write("Below target: " + "; ".join(problems) + ".")
        else:
            self.stdout.write(
                "All targets met: crisis recall >= 0.95, other recall >= 0.85, "
                f"<= {MAX_FLAGGED_CLEAN:.0%} of no-category messages flagged."
            )
