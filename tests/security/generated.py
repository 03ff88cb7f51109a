"""Generators shared by the property tests of the socket and of the forms: any JSON value a hostile
client could send, with text from the whole of Unicode (lone surrogates and NUL included)."""

from __future__ import annotations

import json
from dataclasses import MISSING
from typing import get_args

from hypothesis import strategies as st

from chat.protocol import (
    FEELINGS,
    MODERATE_ACTIONS,
    NEEDS,
    REACTIONS,
    REPORT_REASONS,
    ROUND_PROMPTS,
    SESSION_ACTIONS,
    ClientFrame,
)

# Every code point, surrogates (category Cs) and NUL included: hypothesis leaves surrogates out by default.
# Lone surrogates and NUL are a sliver of the code space, so they are also mixed in on purpose.
any_text = st.lists(
    st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff", "\ud83d", "\x00"]), max_size=60
).map("".join)
awkward_text = st.sampled_from(["\ud800", "a\udfffb", "\x00", "\ud83d", "\ud83d\ude00", "", " ", "\u202e", "\ufeff"])
numbers = (
    st.integers(min_value=-3, max_value=40)
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
)
scalars = st.none() | st.booleans() | numbers | any_text | awkward_text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
# Values the protocol knows, so that some generated frames are valid and carried out.
known_words = st.sampled_from(
    sorted({*REACTIONS, *FEELINGS, *NEEDS, *REPORT_REASONS, *ROUND_PROMPTS, *MODERATE_ACTIONS, *SESSION_ACTIONS})
)

# Each documented client frame type, and the fields its dataclass names: declared type, and required or not.
FRAME_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    cls.type: {
        name: (str(f.type), f.default is MISSING and f.default_factory is MISSING)
        for name, f in cls.__dataclass_fields__.items()
        if name != "type"
    }
    for cls in get_args(ClientFrame)
}
# Most values have the declared type (so the frame gets past the type checks to the rules, the database
# and the broadcast); the rest are anything at all.
OF_TYPE = {
    "str": any_text | awkward_text | known_words,
    "int": numbers,
    "bool": st.booleans(),
    "tuple": st.lists(known_words | any_text, max_size=4),
}


def value_for(declared: str):
    kind = next((name for name in OF_TYPE if declared.startswith(name)), None)
    return json_values if kind is None else st.one_of(OF_TYPE[kind], OF_TYPE[kind], json_values)


@st.composite
def frames(draw) -> str:
    """One frame of a documented type with any of its fields, each holding any JSON value, as JSON text
    (``ensure_ascii``, so a lone surrogate travels as a valid ``\\udXXX`` escape)."""
    # A send is what most frames are, and the path where a write is shared: drawn as often as all others.
    frame_type = draw(st.just("send") | st.sampled_from(sorted(FRAME_FIELDS)))
    frame: dict = {"type": frame_type}
    for name, (declared, required) in FRAME_FIELDS[frame_type].items():
        present = draw(st.integers(0, 9)) > (0 if required else 6)  # required: 90%; optional: 30%
        if not present:
            continue
        if name == "client_id" and draw(st.booleans()):
            frame[name] = f"c-{draw(st.integers(0, 10**6))}"
        else:
            frame[name] = draw(value_for(declared))
    return json.dumps(frame)
