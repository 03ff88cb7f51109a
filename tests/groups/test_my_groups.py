"""My groups: every group I'm in, asked to join, or taking a break from."""

import pytest

from groups.actions import change_agreements, create_group, pause_membership, request_to_join
from groups.models import JoinPolicy

pytestmark = pytest.mark.django_db


def test_my_groups_lists_each_with_its_state(client, group, facilitator, member):
    waiting = create_group(
        name="After the Storm", facilitators=[facilitator], agreements=["Be kind."], join_policy=JoinPolicy.REQUEST
    )
    request_to_join(member, waiting, accepted_version=1)
    pause_membership(member, group)
    client.force_login(member)
    page = client.get("/groups/mine/").content.decode()
    assert "Quiet Harbour" in page and "taking a break" in page
    assert "After the Storm" in page and "Your request is with the facilitators." in page


def test_my_groups_links_to_the_new_agreements_when_they_changed(client, group, facilitator, member):
    change_agreements(facilitator, group, ["Be kind."])
    client.force_login(member)
    page = client.get("/groups/mine/").content.decode()
    assert f'href="/groups/{group.slug}/#agreements"' in page


def test_someone_in_no_group_is_pointed_to_the_directory(client, outsider):
    client.force_login(outsider)
    assert "Find one that feels right" in client.get("/groups/mine/").content.decode()
