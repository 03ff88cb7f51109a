"""The invite link: the only way into an invite-only group, and a way past the request queue."""

import pytest

from groups.actions import join_group
from groups.errors import MembershipError
from groups.models import JoinPolicy, Membership, MembershipState

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite_group(group):
    group.join_policy = JoinPolicy.INVITE
    group.save()
    return group


def test_an_invite_only_group_cannot_be_joined_without_the_link(invite_group, outsider):
    with pytest.raises(MembershipError, match="invite link"):
        join_group(outsider, invite_group, accepted_version=1)


def test_the_facilitator_sees_the_invite_link_and_members_do_not(client, invite_group, facilitator, member):
    client.force_login(facilitator)
    assert invite_group.invite_token in client.get(f"/groups/{invite_group.slug}/").content.decode()
    client.force_login(member)
    assert invite_group.invite_token not in client.get(f"/groups/{invite_group.slug}/").content.decode()


def test_someone_with_the_link_reads_the_agreements_and_joins(client, invite_group, outsider):
    client.force_login(outsider)
    url = f"/groups/{invite_group.slug}/invite/{invite_group.invite_token}/"
    page = client.get(url).content.decode()
    assert "What is shared here stays here." in page and "Accept and join" in page
    response = client.post(url, {"version": 1})
    assert response.status_code == 400
    assert "tick the box" in response.content.decode()
    response = client.post(url, {"version": 1, "accept": "on"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=outsider, group=invite_group)
    assert membership.state == MembershipState.ACTIVE
    assert membership.events.get().kind == "groups.membership.joined_by_invite"


def test_a_wrong_token_finds_nothing(client, invite_group, outsider):
    client.force_login(outsider)
    assert client.get(f"/groups/{invite_group.slug}/invite/not-the-token/").status_code == 404


def test_the_invite_link_still_respects_capacity(client, invite_group, outsider):
    invite_group.capacity = 2
    invite_group.save()
    client.force_login(outsider)
    response = client.post(
        f"/groups/{invite_group.slug}/invite/{invite_group.invite_token}/", {"version": 1, "accept": "on"}
    )
    assert response.status_code == 400
    assert "full at the moment" in response.content.decode()


def test_the_invite_links_token_never_reaches_the_log(client, invite_group, outsider, caplog):
    # Django logs every answer of 400 and above with its path; the token lets anyone in.
    client.force_login(outsider)
    url = f"/groups/{invite_group.slug}/invite/{invite_group.invite_token}/"
    with caplog.at_level("WARNING", logger="django.request"):
        assert client.post(url, {"version": 1}).status_code == 400  # the agreements not ticked
        assert client.get(f"/groups/{invite_group.slug}/invite/a-guess/").status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert lines == [
        f"Bad Request: /groups/{invite_group.slug}/invite/[hidden]/",
        f"Not Found: /groups/{invite_group.slug}/invite/[hidden]/",
    ]
    assert invite_group.invite_token not in caplog.text


def test_a_mangled_invite_or_reset_link_that_finds_no_page_is_logged_without_its_secret(
    client, invite_group, outsider, caplog
):
    client.force_login(outsider)
    token = invite_group.invite_token
    with caplog.at_level("WARNING", logger="django.request"):
        assert client.get(f"/groups/{invite_group.slug}/invite/{token}/and-some-words/").status_code == 404
        assert client.get(f"/accounts/reset/{token}/").status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert lines == [
        f"Not Found: /groups/{invite_group.slug}/invite/[hidden]/",
        "Not Found: /accounts/reset/[hidden]/",
    ]
