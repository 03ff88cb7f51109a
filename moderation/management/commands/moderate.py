"""Check messages from standard input: one message a line in, one JSON decision a line out.

echo "you should just eat more" | python manage.py moderate [--ruleset no_advice] [--explain] [--engine-only]

Each line is the whole decision, both stages (docs/moderation.md, "Outcomes"):
``{"text", "categories", "action", "suggestion", "alerts", "crisis_kind"}``; ``--explain`` adds
which stage found each category and the second opinion's scores.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from moderation.engine import RULESET_NAMES, get_engine
from moderation.second_opinion import combine, get_second_opinion
from moderation.second_opinion.encoder import ModelUnavailable

_BATCH = 16  # messages the model reads at once; the output still comes one line per message, in order


class Command(BaseCommand):
    help = (
        "Read one message per line on stdin; print one JSON decision per line, both stages "
        "(text, categories, action, suggestion, alerts, crisis_kind)."
    )
    # call_command("moderate", stdin=io.StringIO(...)) in tests; sys.stdin otherwise.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "--ruleset",
            action="append",
            dest="rulesets",
            metavar="NAME",
            help=f"A rule set to apply; repeat for more. Default: all ({', '.join(RULESET_NAMES)}).",
        )
        parser.add_argument(
            "--explain", action="store_true", help="Add which stage found each category, and the model's scores."
        )
        parser.add_argument(
            "--engine-only", action="store_true", help="The phrase engine alone, as the hot path decides at once."
        )

    def handle(self, *args, rulesets=None, stdin=None, explain=False, engine_only=False, **options):
        unknown = sorted(set(rulesets or ()) - set(RULESET_NAMES))
        if unknown:
            raise CommandError(f"Unknown rule set {', '.join(unknown)}. Choose from: {', '.join(RULESET_NAMES)}.")
        engine = get_engine(tuple(sorted(set(rulesets), key=RULESET_NAMES.index)) if rulesets else None)
        second_opinion = None
        if not engine_only:
            try:
                second_opinion = get_second_opinion()
            except ModelUnavailable as error:
                raise CommandError(f"{error} (or use --engine-only)") from error
        batch: list[str] = []
        for line in stdin if stdin is not None else sys.stdin:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            batch.append(text)
            if len(batch) == _BATCH:
                self._decide(batch, engine, second_opinion, explain)
                batch = []
        self._decide(batch, engine, second_opinion, explain)

    def _decide(self, texts, engine, second_opinion, explain) -> None:
        opinions = second_opinion.review_many(texts) if second_opinion is not None and texts else [None] * len(texts)
        for text, opinion in zip(texts, opinions, strict=True):
            decision = combine(text, engine.check(text), opinion, engine)
            self.stdout.write(json.dumps(decision.to_json(explain=explain), ensure_ascii=False))
