"""A group that runs every rule set, with the usual cast: Sam and Alex are members, Robin facilitates."""

from __future__ import annotations

import pytest

from groups.actions import create_group, join_group
from moderation.engine import RULESET_NAMES


@pytest.fixture(scope="session", autouse=True)
def built_engine():
    """Build the all-rule-sets engine once per test run (a few seconds), as a server does at first connect,
    so the socket tests' timeouts measure moderation, not the build."""
    from moderation.review import engine_for

    engine_for(RULESET_NAMES)


@pytest.fixture
def circle(db, facilitator, member, second_member):
    """ "Open Circle": its own first agreement, then the default agreement of each rule set."""
    group = create_group(
        name="Open Circle",
        facilitators=[facilitator],
        agreements=["What is shared here stays here."],
        description="A small group that runs every moderation rule set.",
        rulesets=RULESET_NAMES,
    )
    join_group(member, group, accepted_version=1)
    join_group(second_member, group, accepted_version=1)
    group.refresh_from_db()
    return group
