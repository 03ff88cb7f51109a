"""The guideline engine: checks one chat message against a group's agreements.

Pure Python with no Django import, so the chat consumer, the management commands, the tests
and the benchmark all share one fast core. The rules are data, in ``moderation/rulesets/*.json``.

How a check works, and why it stays fast however many rules there are:

1. The text is lowercased and tokenised once. Apostrophes are dropped (``don't`` -> ``dont``),
   every number becomes the token ``#`` (its value is kept aside), sentence punctuation stays as
   boundary tokens, and a boundary ``.`` frames the message at each end.
2. Every phrase of every enabled rule set was expanded, when the engine was built, into plain
   token sequences and stored in one token trie. The check walks that trie from each token, so
   each step is a dict lookup: the cost follows the length of the message, not the rule count.
3. A few things are not phrases: numbers about bodies and food are found by looking next to each
   number for a unit ("120 lbs") or a cue ("size 0", "bmi of 17"); email addresses and phone
   numbers by two precompiled patterns.
4. "Suppress" phrases cancel overlapping matches of their category ("die of embarrassment",
   "you should be proud"), and judgment, advice and self-criticism inside quotation marks
   are someone else's words, not the writer's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache, lru_cache
from itertools import product
from pathlib import Path
from types import MappingProxyType
from typing import Any

CATEGORIES: tuple[str, ...] = (
    "crisis",
    "judgment",
    "advice",
    "numbers",
    "diet",
    "body",
    "self_criticism",
    "contact",
)

RULESET_NAMES: tuple[str, ...] = (
    "crisis",
    "curiosity",
    "no_advice",
    "ed_safety",
    "self_kindness",
    "off_platform",
)

RULESET_DIR = Path(__file__).resolve().parent / "rulesets"


class Action(StrEnum):
    ALLOW = "allow"  # post as written
    NUDGE = "nudge"  # post, and show the writer the agreement and a gentler wording
    COLLAPSE = "collapse"  # post behind a content warning that readers open themselves
    HOLD = "hold"  # keep it back until a facilitator has looked
    BLOCK = "block"  # do not post
    ALERT = "alert"  # post, and tell the group's facilitators
    RESOURCES = "resources"  # post, and show the writer where to find help right now


DEFAULT_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "crisis": Action.RESOURCES,
        "judgment": Action.NUDGE,
        "advice": Action.NUDGE,
        "numbers": Action.NUDGE,
        "diet": Action.COLLAPSE,
        "body": Action.NUDGE,
        "self_criticism": Action.NUDGE,
        "contact": Action.HOLD,
    }
)

# Higher wins when a message breaks more than one agreement. Crisis is handled before this
# ordering is consulted (see Engine.action_for): a crisis message always posts.
# A nudge outranks a collapse: an agreement that asks the writer first ("no numbers" nudges)
# is never silently replaced by a content warning that only readers see. The collapse still
# applies if the writer posts anyway (Engine.content_warning_for).
ACTION_SEVERITY: Mapping[Action, int] = MappingProxyType(
    {
        Action.ALLOW: 0,
        Action.COLLAPSE: 1,
        Action.NUDGE: 2,
        Action.ALERT: 3,
        Action.HOLD: 4,
        Action.BLOCK: 5,
        Action.RESOURCES: 6,
    }
)

# The actions a crisis message may get: both post the message and offer help.
CRISIS_ACTIONS: frozenset[Action] = frozenset({Action.RESOURCES, Action.ALERT})

# Judgment, advice and harsh self-talk inside quotation marks are someone else's words.
QUOTABLE_CATEGORIES: frozenset[str] = frozenset({"judgment", "advice", "self_criticism"})


@dataclass(frozen=True)
class DefaultAgreement:
    key: str
    ruleset: str
    text: str
    reason: str
    categories: tuple[str, ...]
    content_warning: str | None


@dataclass(frozen=True)
class Match:
    category: str
    ruleset: str
    agreement_key: str
    start: int
    end: int


@dataclass(frozen=True)
class Verdict:
    categories: tuple[str, ...]
    matches: tuple[Match, ...]
    suggestion: str | None

    @property
    def is_clean(self) -> bool:
        return not self.categories


CLEAN = Verdict(categories=(), matches=(), suggestion=None)


# --- Tokens -------------------------------------------------------------------------------

NUMBER = "#"
BOUNDARY = "."
BOUNDARY_TOKENS: tuple[str, ...] = (".", "!", "?", ";", ",", "\n")
_BOUNDARIES = frozenset(BOUNDARY_TOKENS)
_SENTENCE_ENDS = frozenset((".", "!", "?", ";", "\n"))  # a comma joins clauses of one sentence
SUPPRESS_REACHES: tuple[str, ...] = ("words", "sentence", "message")
_END = ""  # trie key holding the rules that end at a node; never a token

# Tokens are ASCII words, numbers and sentence punctuation; everything else (emoji, accents,
# other scripts) separates tokens. The rules are English, and a plain ASCII pattern is about
# twice as fast as a Unicode one. Apostrophes are removed first, so "don't" and "dont" match.
_NUMBER_PATTERN = r"[0-9]+(?:[.,][0-9]+)*"
_TOKEN_RE = re.compile(rf"[a-z]+|{_NUMBER_PATTERN}|[.!?;,\n]")
_NUMBER_RE = re.compile(_NUMBER_PATTERN)  # the number tokens alone: what _TOKEN_RE finds at digits
_DIGIT_RE = re.compile(r"[0-9]")
_DIGITS = frozenset("0123456789")
_ANY_RUN_RE = re.compile(r"(.)\1\1")
_STRETCHED_RE = re.compile(r"[a-z]*([a-z])\1\1[a-z]*")
_RUN_TO_TWO_RE = re.compile(r"([a-z])\1{2,}")
_CURLY_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "`")
_QUOTED_RE = re.compile(
    r"[\"\u201c][^\"\u201d\n]+[\"\u201d]"
    r"|(?:(?<=[\s(:])|^)['\u2018](?:[^'\u2019\n]|(?<=[a-z])['\u2019](?=[a-z])){2,}?['\u2019](?=[\s.,!?;:)]|$)"
)
_CLAUSE_MARK = r"[.!?;,\n]"
_CLAUSE_BREAK_RE = re.compile(_CLAUSE_MARK)
_LAST_CLAUSE_BREAK_RE = re.compile(f".*{_CLAUSE_MARK}", re.DOTALL)  # matched up to an offset
_SPACES_RE = re.compile(r"[ \t]{2,}")
# Replaced by "": a plain replacement stays in C, where an r"\1" template costs a Python call.
_SPACES_BEFORE_PUNCT_RE = re.compile(r" +(?=[.,!?;:])")


def _lower(text: str) -> str:
    """Lowercase, keeping every character at its offset, with curly apostrophes made straight."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters (e.g. "İ") lowercase to two
        lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    for curly in _CURLY_APOSTROPHES:
        if curly in lowered:
            lowered = lowered.replace(curly, "'")
    return lowered


def _clean(lowered: str) -> str:
    return lowered.replace("'", "") if "'" in lowered else lowered


def _tokens(cleaned: str) -> tuple[list[str], list[str], int]:
    """Tokens of cleaned text between two boundaries, numbers as "#"; the tokens as found in the
    text (for offsets and the numbers' values: tokens[i] is found[i - 1]); and how many characters
    the numbers have (enough for a phone number?)."""
    found = _TOKEN_RE.findall(cleaned)
    if _DIGIT_RE.search(cleaned) is None:
        return [BOUNDARY, *found, BOUNDARY], found, 0
    digits = _DIGITS
    tokens = [NUMBER if token[0] in digits else token for token in found]
    tokens.insert(0, BOUNDARY)
    tokens.append(BOUNDARY)
    return tokens, found, sum(map(len, _NUMBER_RE.findall(cleaned)))


def _token_starts(cleaned: str, found: list[str], upto: int) -> list[int]:
    """Where tokens 0 to upto start in the cleaned text, worked out only for a message that matched.

    Token 0 is the opening boundary, at 0. Between two tokens there are only characters no token
    contains, so each token is the first occurrence of itself from where the previous one ended:
    str.find, not a second regex pass. Token i (a word, number or mark) ends len(found[i - 1]) later.
    """
    starts = [0]
    position = 0
    find = cleaned.find
    for raw in found[:upto]:
        position = find(raw, position)
        starts.append(position)
        position += len(raw)
    return starts


def _apostrophes(lowered: str) -> list[int]:
    """Where apostrophes were taken out of the lowered text (which keeps the original's offsets)."""
    removed = []
    at = lowered.find("'")
    while at != -1:
        removed.append(at)
        at = lowered.find("'", at + 1)
    return removed


def _restore(removed: list[int], offset: int, is_start: bool) -> int:
    """An offset in the cleaned text as an offset in the original."""
    for position in removed:
        if position < offset or (is_start and position == offset):
            offset += 1
        else:
            break
    return offset


def _number_value(number: str) -> float | None:
    try:
        return float(number.replace(",", ""))
    except ValueError:  # "1.2.3"
        return None


def _words(text: str) -> tuple[str, ...]:
    """Rule text as the tokens a message would produce."""
    if text == NUMBER:
        return (NUMBER,)
    tokens, _, _ = _tokens(_clean(_lower(text)))
    return tuple(tokens[1:-1])


# --- Rule data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    ruleset: str
    agreement_key: str
    suppress: bool = False
    # A suppress rule cancels its category's matches that share a word with it ("words"), every one in
    # the same sentence ("sentence") or in the whole message ("message"): a stance such as "so sick of"
    # or "the voice says" is a few words away from the diet or self-critical words it frames.
    reach: str = "words"
    soft: bool = False
    rewrite: str | None = None
    kind: str = "phrase"  # or "unit" / "cue": a place to look for a number next to it


@dataclass(frozen=True, slots=True)
class _Unit:
    low: float
    high: float
    money: bool
    number_only: bool = False  # the suggestion replaces the number, keeping the thing ("had some biscuits")


@dataclass(frozen=True, slots=True)
class _Cue:
    max_gap: int
    low: float
    high: float
    say: str
    followed_by: frozenset[str] | None
    number_only: bool  # the suggestion replaces the number, keeping the cue ("ate some today")


@dataclass(frozen=True, slots=True)
class _Quantities:
    rule: _Rule
    say: str
    units: Mapping[str, _Unit]
    cues: Mapping[str, _Cue]
    unit_gap: frozenset[str]
    cue_gap: frozenset[str]
    not_after: frozenset[str]
    money_after: frozenset[tuple[str, ...]]
    number_words: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class _ContactPatterns:
    rule: _Rule
    email: re.Pattern[str]
    phone: re.Pattern[str]
    phone_digits: tuple[int, int]
    allowed_numbers: frozenset[str]


@cache
def _load(name: str) -> Mapping[str, Any]:
    with open(RULESET_DIR / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def _macros() -> Mapping[str, list[str]]:
    return _load("_macros")["macros"]


def _load_agreements() -> tuple[DefaultAgreement, ...]:
    agreements = []
    for name in RULESET_NAMES:
        for item in _load(name)["agreements"]:
            agreements.append(
                DefaultAgreement(
                    key=item["key"],
                    ruleset=name,
                    text=item["text"],
                    reason=item["reason"],
                    categories=tuple(item["categories"]),
                    content_warning=item.get("content_warning"),
                )
            )
    return tuple(agreements)


DEFAULT_AGREEMENTS: tuple[DefaultAgreement, ...] = _load_agreements()

# Which rule set and agreement a category belongs to by default (used for extra rules).
_CATEGORY_HOME: Mapping[str, DefaultAgreement] = MappingProxyType(
    {category: agreement for agreement in reversed(DEFAULT_AGREEMENTS) for category in agreement.categories}
)

_MAX_EXPANSIONS = 20_000  # per phrase: a typo in a rule file should fail loudly, not hang


def expand_phrase(phrase: str, macros: Mapping[str, list[str]] | None = None) -> list[tuple[str, ...]]:
    """Every token sequence a rule phrase stands for.

    Slots are separated by spaces. ``a|b`` is a choice, ``(a|b)`` an optional choice,
    ``{name}`` a shared spelling from ``_macros.json``, ``a_b`` two words in one choice,
    ``#`` any number and ``^`` the start or end of a sentence.
    """
    macros = _macros() if macros is None else macros
    slots: list[list[tuple[str, ...]]] = []
    for slot in phrase.split():
        optional = slot.startswith("(") and slot.endswith(")")
        body = slot[1:-1] if optional else slot
        choices: list[tuple[str, ...]] = []
        for choice in body.split("|"):
            if choice == "^":
                choices.extend((token,) for token in BOUNDARY_TOKENS)
            elif choice.startswith("{") and choice.endswith("}"):
                name = choice[1:-1]
                if name not in macros:
                    raise ValueError(f"Rule phrase {phrase!r} uses {{{name}}}, which _macros.json does not define.")
                for spelling in macros[name]:
                    choices.extend(expand_phrase(spelling, macros))
            else:
                words = _words(choice.replace("_", " "))
                if not words:
                    raise ValueError(f"Rule phrase {phrase!r} has an empty choice in slot {slot!r}.")
                choices.append(words)
        if optional:
            choices.append(())
        slots.append(choices)
    count = 1
    for choices in slots:
        count *= len(choices)
    if count > _MAX_EXPANSIONS:
        raise ValueError(f"Rule phrase {phrase!r} expands to {count} sequences; split it into smaller phrases.")
    sequences = {tuple(token for part in combo for token in part) for combo in product(*slots)}
    sequences.discard(())
    return sorted(sequences)


# --- The engine ---------------------------------------------------------------------------


class Engine:
    """Checks messages against the chosen rule sets. Build once, check many times."""

    def __init__(self, rulesets: Iterable[str] | None = None, *, extra_rules: Iterable[dict] = ()) -> None:
        names = RULESET_NAMES if rulesets is None else tuple(dict.fromkeys(rulesets))
        unknown = [name for name in names if name not in RULESET_NAMES]
        if unknown:
            raise ValueError(
                f"Unknown rule set {', '.join(map(repr, unknown))}. Valid rule sets: {', '.join(RULESET_NAMES)}."
            )
        self.rulesets: tuple[str, ...] = tuple(name for name in RULESET_NAMES if name in names)
        self._trie: dict[str, Any] = {}
        self.rule_count = 0  # phrases loaded, extra rules included
        self.sequence_count = 0  # token sequences in the trie once choices are expanded
        self._quantities: _Quantities | None = None
        self._contact: _ContactPatterns | None = None
        macros = _macros()
        for name in self.rulesets:
            data = _load(name)
            for rule in data["rules"]:
                self._add_rule(rule, name, macros)
            if "quantities" in data:
                self._quantities = self._build_quantities(data["quantities"], name)
            if "patterns" in data:
                self._contact = self._build_contact(data["patterns"], name)
        for rule in extra_rules:
            self._add_rule(rule, None, macros)
        if self._quantities is not None:
            self._add_quantity_markers(self._quantities)
        self._vocabulary = frozenset(self._walk_vocabulary(self._trie))
        # Phrases share endings ("...so dramatic", "...really dramatic"): share those subtrees too.
        self._trie = _share_subtrees(self._trie, {})

    # Building -------------------------------------------------------------------------------

    def _insert(self, sequence: tuple[str, ...], rule: _Rule) -> None:
        node = self._trie
        for token in sequence:
            node = node.setdefault(token, {})
        rules = node.setdefault(_END, [])
        if rule not in rules:  # the same words reached through two phrases of one rule
            rules.append(rule)
        self.sequence_count += 1

    def _add_rule(self, rule: Mapping[str, Any], ruleset: str | None, macros: Mapping[str, list[str]]) -> None:
        category = rule.get("category")
        if category not in CATEGORIES:
            raise ValueError(f"Rule category {category!r} is not one of: {', '.join(CATEGORIES)}.")
        home = _CATEGORY_HOME[category]
        ruleset = rule.get("ruleset") or ruleset or home.ruleset
        if ruleset not in RULESET_NAMES:
            raise ValueError(f"Unknown rule set {ruleset!r}. Valid rule sets: {', '.join(RULESET_NAMES)}.")
        phrases = rule.get("phrases")
        if not phrases or isinstance(phrases, str):
            raise ValueError(f"A {category} rule needs a list of phrases.")
        reach = rule.get("reach", "words")
        if reach not in SUPPRESS_REACHES or (reach != "words" and not rule.get("suppress")):
            raise ValueError(
                f"A {category} rule's reach must be one of {', '.join(SUPPRESS_REACHES)}, on a suppress rule."
            )
        compiled = _Rule(
            category=category,
            ruleset=ruleset,
            agreement_key=rule.get("agreement") or home.key,
            suppress=bool(rule.get("suppress", False)),
            reach=reach,
            soft=bool(rule.get("soft", False)),
            rewrite=rule.get("rewrite"),
        )
        for phrase in phrases:
            self.rule_count += 1
            for sequence in expand_phrase(phrase, macros):
                self._insert(sequence, compiled)

    def _add_quantity_markers(self, quantities: _Quantities) -> None:
        # Units and cues sit in the trie like one-word phrases, so finding them costs nothing extra.
        for token in quantities.units:
            self._insert((token,), replace(quantities.rule, kind="unit"))
        for token in quantities.cues:
            self._insert((token,), replace(quantities.rule, kind="cue"))

    @staticmethod
    def _build_quantities(data: Mapping[str, Any], ruleset: str) -> _Quantities:
        rule = _Rule(category=data["category"], ruleset=ruleset, agreement_key=data["agreement"])
        money = frozenset(data.get("money_units", ()))
        units = {}
        for group in data["units"]:
            for token in group["tokens"]:
                units[token] = _Unit(
                    group.get("min", 0), group.get("max", float("inf")), token in money, group.get("mark") == "number"
                )
        cues = {}
        for group in data["cues"]:
            followed_by = group.get("followed_by")
            cue = _Cue(
                max_gap=group.get("max_gap", 0),
                low=group.get("min", 0),
                high=group.get("max", float("inf")),
                say=group.get("say", data.get("say", "some")),
                followed_by=None if followed_by is None else frozenset(followed_by) | _BOUNDARIES,
                number_only=group.get("mark", "all") == "number",
            )
            for token in group["tokens"]:
                cues[token] = cue
        return _Quantities(
            rule=rule,
            say=data.get("say", "some"),
            units=MappingProxyType(units),
            cues=MappingProxyType(cues),
            unit_gap=frozenset(data.get("unit_gap", ())),
            cue_gap=frozenset(data.get("cue_gap", ())),
            not_after=frozenset(data.get("not_after", ())),
            money_after=frozenset(_words(item.replace("_", " ")) for item in data.get("money_after", ())),
            number_words=MappingProxyType(dict(data.get("number_words", {}))),
        )

    @staticmethod
    def _build_contact(data: Mapping[str, Any], ruleset: str) -> _ContactPatterns:
        return _ContactPatterns(
            rule=_Rule(
                category=data["category"],
                ruleset=ruleset,
                agreement_key=data["agreement"],
                rewrite=data.get("rewrite"),
            ),
            email=re.compile(data["email"]),
            phone=re.compile(data["phone"]),
            phone_digits=(data.get("phone_min_digits", 9), data.get("phone_max_digits", 15)),
            allowed_numbers=frozenset(data.get("allowed_numbers", ())),
        )

    @classmethod
    def _walk_vocabulary(cls, node: Mapping[str, Any]) -> Iterable[str]:
        for token, child in node.items():
            if token != _END:
                yield token
                yield from cls._walk_vocabulary(child)

    # Checking -------------------------------------------------------------------------------

    def _unstretch(self, tokens: list[str], cleaned: str) -> None:
        """ "soooo" -> "so", "killlll" -> "kill": two letters if the rules know that word, else one."""
        stretched = {found.group() for found in _STRETCHED_RE.finditer(cleaned)}
        if not stretched:
            return
        vocabulary = self._vocabulary
        for index, token in enumerate(tokens):
            if token in stretched:
                two = _RUN_TO_TWO_RE.sub(r"\1\1", token)
                one = _RUN_TO_TWO_RE.sub(r"\1", token)
                tokens[index] = one if two not in vocabulary and one in vocabulary else two

    def check(self, text: str, *, recipient_wants_no_advice: bool = False) -> Verdict:
        """What the message breaks, where, and a gentler way to say it."""
        if not text:
            return CLEAN
        lowered = _lower(text)
        cleaned = _clean(lowered)
        tokens, found, number_chars = _tokens(cleaned)
        if _ANY_RUN_RE.search(cleaned) is not None:
            self._unstretch(tokens, cleaned)
        count = len(tokens)
        root = self._trie

        hits = []
        # Every start but the closing boundary; the opening one starts "^ just eat" and the like.
        for index in range(count - 1):
            node = root.get(tokens[index])
            if node is None:
                continue
            end = index + 1
            while True:
                rules = node.get(_END)
                if rules is not None:
                    hits.append((index, end, rules))
                if end == count:
                    break
                node = node.get(tokens[end])
                if node is None:
                    break
                end += 1

        spans: list[tuple[int, int, _Rule, str | None]] = []  # token spans, and what numbers become
        suppressed: dict[str, list[tuple[int, int]]] = {}  # token spans that cancel a category
        for start, end, rules in hits:
            for rule in rules:
                if rule.kind != "phrase":
                    span = self._quantity_at(tokens, found, start, rule.kind, text, lowered, cleaned)
                    if span is not None:
                        spans.append(span)
                elif rule.suppress:
                    if rule.reach == "sentence":
                        start, end = _sentence_around(tokens, start, end)
                    elif rule.reach == "message":
                        start, end = 0, count
                    suppressed.setdefault(rule.category, []).append((start, end))
                elif not rule.soft or recipient_wants_no_advice:
                    spans.append((start, end, rule, None))

        matches: list[tuple[int, int, _Rule, str | None]] = []
        kept = _merge(spans, suppressed, tokens) if spans else []
        if kept:
            # Kept spans hold no boundary token: each starts and ends on a word, number or mark.
            starts = _token_starts(cleaned, found, upto=max(end for _, end, _, _ in kept) - 1)
            removed = _apostrophes(lowered) if len(cleaned) != len(lowered) else None
            quoted: list[tuple[int, int]] | None = None
            for start, end, rule, say in kept:
                char_start, char_end = starts[start], starts[end - 1] + len(found[end - 2])
                if removed:
                    char_start, char_end = _restore(removed, char_start, True), _restore(removed, char_end, False)
                if rule.category in QUOTABLE_CATEGORIES:
                    if quoted is None:
                        quoted = _quoted_regions(lowered)
                    if any(q_start <= char_start and char_end <= q_end for q_start, q_end in quoted):
                        continue
                matches.append((char_start, char_end, rule, say))
        merged = True  # each category's overlapping spans are one match already (_merge)
        contact = self._contact
        if contact is not None and ("@" in text or number_chars >= contact.phone_digits[0]):
            phrase_matches = len(matches)
            matches.extend(self._contact_spans(text))
            merged = len(matches) == phrase_matches
        if not matches:
            return CLEAN
        return self._verdict(text, matches, merged=merged)

    def _quantity_at(
        self,
        tokens: list[str],
        found: list[str],
        index: int,
        kind: str,
        text: str,
        lowered: str,
        cleaned: str,
    ) -> tuple[int, int, _Rule, str | None] | None:
        """A number tied to the unit or cue at tokens[index], as a token span."""
        quantities = self._quantities
        assert quantities is not None
        words = quantities.number_words
        last = len(tokens) - 1

        def value_of(at: int) -> float | None:
            token = tokens[at]
            if token == NUMBER:  # found[at - 1] is the number itself (tokens[0] is the boundary)
                return _number_value(found[at - 1])
            return words.get(token)

        if kind == "unit":
            # "120 lbs", "10k steps", "1200 fucking calories"
            unit = quantities.units[tokens[index]]
            at = index - 1
            multiplier = 1.0
            while at > 0 and tokens[at] in quantities.unit_gap and index - at <= 2:
                if tokens[at] == "k":
                    multiplier = 1000.0
                at -= 1
            value = value_of(at)
            if value is None or not unit.low <= value * multiplier <= unit.high:
                return None
            first = at
            while first > 1:  # "one hundred and fifty", "130 to 135", "130-135"
                before = tokens[first - 1]
                if value_of(first - 1) is not None:
                    first -= 1
                elif before in ("and", "to", "or") and value_of(first - 2) is not None:
                    first -= 2
                else:
                    break
            if tokens[first - 1] in quantities.not_after or tokens[first - 2] in quantities.not_after:
                return None  # "it cost me 20 pounds"
            if unit.money:
                char = _token_starts(cleaned, found, upto=first)[first]
                if len(cleaned) != len(lowered):
                    char = _restore(_apostrophes(lowered), char, True)
                char -= 1
                if char >= 0 and text[char] in "£$€":
                    return None
                following = tuple(tokens[index + 1 : index + 4])
                if any(following[: len(after)] == after for after in quantities.money_after):
                    return None
            if unit.number_only:
                return first, at + 1, quantities.rule, quantities.say
            return first, index + 1, quantities.rule, quantities.say

        # "size 0", "my bmi was 17", "weighed 98", "ate 800 today"
        cue = quantities.cues[tokens[index]]
        at = index + 1
        gap = 0
        while at < last and gap < cue.max_gap and tokens[at] in quantities.cue_gap:
            at += 1
            gap += 1
        value = value_of(at)
        if value is None or not cue.low <= value <= cue.high:
            return None
        stop = at + 1
        if stop < last and tokens[stop] in quantities.units:
            stop += 1
        if cue.followed_by is not None and tokens[stop] not in cue.followed_by:
            return None
        if cue.number_only:
            return at, stop, quantities.rule, cue.say
        if tokens[index - 1] in ("a", "an"):  # "a size 2" -> "that size", not "a that size"
            index -= 1
        return index, stop, quantities.rule, cue.say

    def _contact_spans(self, text: str) -> Iterable[tuple[int, int, _Rule, str | None]]:
        contact = self._contact
        assert contact is not None
        if "@" in text:
            for found in contact.email.finditer(text):
                yield found.start(), found.end(), contact.rule, None
        low, high = contact.phone_digits
        for found in contact.phone.finditer(text):
            digits = "".join(char for char in found.group() if char.isdigit())
            if low <= len(digits) <= high and digits not in contact.allowed_numbers:
                yield found.start(), found.end(), contact.rule, None

    def _verdict(self, text: str, found: list[tuple[int, int, _Rule, str | None]], *, merged: bool) -> Verdict:
        if merged:
            kept = found
        else:  # an email or a phone number may overlap a contact phrase: keep the longest
            found.sort(key=lambda item: (item[2].category, item[0], -item[1]))
            kept = []
            for item in found:
                if kept and kept[-1][2].category == item[2].category and item[0] < kept[-1][1]:
                    if item[1] > kept[-1][1]:
                        start, _, rule, say = kept[-1]
                        kept[-1] = (start, item[1], rule, say)
                    continue
                kept.append(item)
        if len(kept) > 1:
            kept.sort(key=lambda item: (item[0], item[1], item[2].category))
        matches = tuple(Match(rule.category, rule.ruleset, rule.agreement_key, s, e) for s, e, rule, _ in kept)
        categories = tuple(sorted({rule.category for _, _, rule, _ in kept}))
        return Verdict(categories=categories, matches=matches, suggestion=self._suggest(text, categories, kept))

    # Suggestions ----------------------------------------------------------------------------

    @staticmethod
    def _suggest(text: str, categories: tuple[str, ...], kept: list[tuple[int, int, _Rule, str | None]]) -> str | None:
        if "crisis" in categories:
            return None  # someone in crisis is offered help, never asked to reword
        edits: list[tuple[int, int, str, bool]] = []
        for start, end, rule, _ in kept:
            if rule.rewrite is None:
                continue
            if edits and start < edits[-1][1]:
                continue  # one rewrite per clause
            edits.append((*_clause_rewrite(text, start, end, rule.rewrite), True))
        for start, end, _rule, say in kept:
            if say is None:
                continue
            if any(s <= start and end <= e for s, e, _, _ in edits):
                continue
            edits.append((start, end, say, False))
        if not edits:
            return None
        edits.sort()
        pieces: list[str] = []
        position = 0
        for start, end, replacement, is_rewrite in edits:
            if start < position:
                continue
            pieces.append(text[position:start])
            if is_rewrite:
                before = "".join(pieces).rstrip()
                if not before or before[-1] in ".!?\n":
                    replacement = replacement[0].upper() + replacement[1:]
                elif not replacement.startswith(("I ", "I'")):
                    replacement = replacement[0].lower() + replacement[1:]
            pieces.append(replacement)
            position = end
        pieces.append(text[position:])
        suggestion = "".join(pieces)
        if "  " in suggestion or " ." in suggestion or " ," in suggestion or " ?" in suggestion or " !" in suggestion:
            suggestion = _SPACES_BEFORE_PUNCT_RE.sub("", _SPACES_RE.sub(" ", suggestion))
        suggestion = suggestion.strip()
        return suggestion if suggestion and suggestion != text.strip() else None

    # Actions --------------------------------------------------------------------------------

    def action_for(self, verdict: Verdict, actions: Mapping[str, Action] | None = None) -> Action:
        """The one action for a message, from each category's action (DEFAULT_ACTIONS if not given).

        A crisis message is never held or blocked: its action is RESOURCES (or ALERT, if the
        group asked for facilitators to be told), whatever else the message matched.
        """
        if verdict.is_clean:
            return Action.ALLOW
        chosen = DEFAULT_ACTIONS if actions is None else actions

        def action_of(category: str) -> Action:
            return Action(chosen.get(category, DEFAULT_ACTIONS[category]))

        if "crisis" in verdict.categories:
            action = action_of("crisis")
            return action if action in CRISIS_ACTIONS else Action.RESOURCES
        return max((action_of(category) for category in verdict.categories), key=ACTION_SEVERITY.__getitem__)

    def content_warning_for(self, verdict: Verdict, actions: Mapping[str, Action] | None = None) -> str | None:
        """The content warning a message should carry when it posts, whatever its one action is.

        A message may ask for a nudge (say, "no numbers") and a collapse ("no diet talk") at once:
        the nudge comes first, and if the writer posts anyway the collapse still applies. None when
        no category of the message collapses in this group.
        """
        chosen = DEFAULT_ACTIONS if actions is None else actions
        for category in verdict.categories:
            if Action(chosen.get(category, DEFAULT_ACTIONS[category])) == Action.COLLAPSE:
                home = _CATEGORY_HOME[category]
                return home.content_warning or category
        return None


def _share_subtrees(node: dict[str, Any], seen: dict[tuple, Any]) -> dict[str, Any]:
    """The same trie with identical subtrees stored once; the trie is only read after this."""
    shared: dict[str, Any] = {}
    key = []
    for token, child in node.items():
        if token == _END:
            rules = tuple(child)
            child_key = ("rules", *map(id, rules))
            shared[token] = seen.setdefault(child_key, rules)
        else:
            shared[token] = _share_subtrees(child, seen)
            child_key = id(shared[token])
        key.append((token, child_key))
    key.sort()
    return seen.setdefault(tuple(key), shared)


def _merge(
    spans: list[tuple[int, int, _Rule, str | None]],
    suppressed: Mapping[str, list[tuple[int, int]]],
    tokens: list[str],
) -> list[tuple[int, int, _Rule, str | None]]:
    """Token spans that survive suppression, trimmed of boundaries, overlapping ones of a category merged."""
    kept: list[tuple[int, int, _Rule, str | None]] = []
    if len(spans) > 1:
        spans.sort(key=lambda span: (span[2].category, span[0], -span[1]))
    for start, end, rule, say in spans:
        if suppressed:
            cancelled_by = suppressed.get(rule.category)
            if cancelled_by is not None and any(s < end and start < e for s, e in cancelled_by):
                continue
        while start < end and tokens[start] in _BOUNDARIES:
            start += 1
        while end > start and tokens[end - 1] in _BOUNDARIES:
            end -= 1
        if start == end:
            continue
        if kept and kept[-1][2].category == rule.category and start < kept[-1][1]:
            if end > kept[-1][1]:
                kept[-1] = (kept[-1][0], end, kept[-1][2], kept[-1][3])
            continue
        kept.append((start, end, rule, say))
    return kept


def _sentence_around(tokens: list[str], start: int, end: int) -> tuple[int, int]:
    """The token span of the sentence holding tokens[start:end] (the message is framed by boundaries)."""
    ends = _SENTENCE_ENDS
    while start > 0 and tokens[start - 1] not in ends:
        start -= 1
    last = len(tokens) - 1
    while end < last and tokens[end] not in ends:
        end += 1
    return start, end


def _quoted_regions(lowered: str) -> list[tuple[int, int]]:
    """Spans of text in quotation marks: "like this", “this” or 'this' (an opening ' follows a space)."""
    if '"' not in lowered and "\u201c" not in lowered and " '" not in lowered and not lowered.startswith("'"):
        return []
    return [(found.start(), found.end()) for found in _QUOTED_RE.finditer(lowered)]


def _clause_rewrite(text: str, start: int, end: int, rewrite: str) -> tuple[int, int, str]:
    """Replace the clause holding text[start:end] with a rewrite, keeping the rest of the message."""
    before = _LAST_CLAUSE_BREAK_RE.match(text, 0, start)
    clause_start = 0 if before is None else before.end()
    while clause_start < start and text[clause_start].isspace():
        clause_start += 1
    after = _CLAUSE_BREAK_RE.search(text, end)
    clause_end = after.start() if after else len(text)
    if after and after.group() in ".!?;,":
        clause_end += 1  # the rewrite brings its own punctuation
        while clause_end < len(text) and text[clause_end] in ".!?":
            clause_end += 1
        if clause_end < len(text) and not text[clause_end].isspace():
            rewrite += " "
    return clause_start, clause_end, rewrite


@lru_cache(maxsize=32)
def get_engine(rulesets: tuple[str, ...] | None = None) -> Engine:
    """A shared engine for these rule sets (all of them when None)."""
    return Engine(rulesets)
