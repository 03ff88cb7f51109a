"""Check messages from standard input: one message a line in, one JSON verdict a line out.

echo "you should just eat more" | python manage.py moderate --ruleset no_advice
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from moderation.engine import RULESET_NAMES, get_engine


class Command(BaseCommand):
    help = "Read one message per line on stdin; print one JSON verdict per line (text, categories, action, suggestion)."
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

    def handle(self, *args, rulesets=None, stdin=None, **options):
        unknown = sorted(set(rulesets or ()) - set(RULESET_NAMES))
        if unknown:
            raise CommandError(f"Unknown rule set {', '.join(unknown)}. Choose from: {', '.join(RULESET_NAMES)}.")
        engine = get_engine(tuple(sorted(set(rulesets), key=RULESET_NAMES.index)) if rulesets else None)
        for line in stdin if stdin is not None else sys.stdin:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            verdict = engine.check(text)
            result = {
                "text": text,
                "categories": list(verdict.categories),
                "action": str(engine.action_for(verdict)),
                "suggestion": verdict.suggestion,
            }
            self.stdout.write(json.dumps(result, ensure_ascii=False))
