"""What text SupportCircle can keep. Pure Python: the chat protocol and the forms both use it."""

from __future__ import annotations

import re

# Text that cannot be stored or sent on as UTF-8: a lone surrogate (valid JSON, "\ud800", but no
# character at all) and NUL (PostgreSQL refuses it in text). Refused at the edge, field by field.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> bool:
    """True when every character of ``value`` can be stored and sent on as UTF-8."""
    return _UNSTORABLE.search(value) is None


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the word in the right number: "1 report", "2 reports", "3 people"."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
