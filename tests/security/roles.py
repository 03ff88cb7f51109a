"""The ten kinds of visitor every authorization test checks, around ``group`` (Quiet Harbour)."""

from __future__ import annotations

from groups.actions import create_group
from groups.models import Membership, MembershipState
from supportcircle.accounts.models import User
from tests.conftest import make_person

ROLES = (
    "anonymous",
    "outsider",
    "requested",
    "member",
    "paused",
    "removed",
    "banned",
    "other_facilitator",
    "facilitator",
    "staff",
)


def people_in_roles(group, member, facilitator, outsider) -> dict[str, User | None]:
    """One person per role. Sam is the member; Robin facilitates; Casey is the outsider."""

    def with_state(pseudonym: str, state: str) -> User:
        person = make_person(pseudonym)
        Membership.objects.create(user=person, group=group, state=state, accepted_version=group.agreement_version)
        return person

    morgan = make_person("Morgan")
    create_group(name="Other Harbour", facilitators=[morgan], agreements=["Be kind."])
    return {
        "anonymous": None,
        "outsider": outsider,
        "requested": with_state("Riley", MembershipState.REQUESTED),
        "member": member,
        "paused": with_state("Pat", MembershipState.PAUSED),
        "removed": with_state("Rue", MembershipState.REMOVED),
        "banned": with_state("Bo", MembershipState.BANNED),
        "other_facilitator": morgan,
        "facilitator": facilitator,
        "staff": make_person("Stevie", is_staff=True),
    }
