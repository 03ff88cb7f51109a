"""The group directory: listed groups only, searchable, filtered by topic."""

import pytest

from groups.models import Visibility

pytestmark = pytest.mark.django_db


def test_an_unlisted_group_is_not_in_the_directory_but_its_page_opens(client, group):
    group.visibility = Visibility.UNLISTED
    group.save()
    assert "Quiet Harbour" not in client.get("/").content.decode()
    assert "Quiet Harbour" not in client.get("/?q=harbour").content.decode()
    assert client.get(f"/groups/{group.slug}/").status_code == 200


def test_a_member_sees_which_listed_groups_they_are_in(client, group, member):
    client.force_login(member)
    page = client.get("/").content.decode()
    assert "You're a member" in page or "You&#x27;re a member" in page
