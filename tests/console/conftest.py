"""The console's queue scenes use moderation's "Open Circle" (every rule set on), with its rules compiled up front."""

from __future__ import annotations

import pytest

from moderation.engine import get_engine
from tests.moderation.conftest import circle  # noqa: F401  (the fixture, shared)


@pytest.fixture
def careful_group(circle):  # noqa: F811
    # Compiling every rule set takes seconds, once per process: do it here, not inside a socket's timeout.
    get_engine(tuple(circle.rulesets))
    return circle
