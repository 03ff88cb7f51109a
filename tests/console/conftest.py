"""A group that runs every moderation rule set, for the console's queue and radar scenes."""

from __future__ import annotations

import pytest

from groups.actions import create_group, join_group
from moderation.actions import get_engine
from moderation.engine import RULESET_NAMES


@pytest.fixture
def careful_group(db, facilitator, member, second_member):
    """ "Harbour Lights": Sam and Alex are members, Robin facilitates, and every rule set is on."""
    group = create_group(
        name="Harbour Lights",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        description="A small group where the console's queue has work to do.",
        rulesets=RULESET_NAMES,
    )
    join_group(member, group, accepted_version=1)
    join_group(second_member, group, accepted_version=1)
    group.refresh_from_db()
    # Compiling every rule set takes seconds, once per process: do it here, not inside a socket's timeout.
    get_engine(tuple(group.rulesets))
    return group
