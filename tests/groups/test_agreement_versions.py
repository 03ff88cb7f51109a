"""Versioned agreements: when a facilitator changes them, members read on but accept again before posting."""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from chat.protocol import NoticeCode
from groups.actions import accept_agreements, change_agreements
from groups.errors import MembershipError, NotAFacilitator
from groups.models import AgreementAcceptance, Membership
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)

NEW_AGREEMENTS = ["What is shared here stays here.", "We take turns and leave room for quiet voices."]


async def test_open_chats_are_told_kindly_with_a_link_and_posting_waits_for_acceptance(
    channel_layer, group, facilitator, member
):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        assert sam.ready["can_post"] is True
        await database_sync_to_async(change_agreements)(facilitator, group, NEW_AGREEMENTS)

        notice = await sam.receive_until("notice")
        assert notice["code"] == "agreements_changed"
        assert notice["can_post"] is False
        assert notice["link"] == f"/groups/{group.slug}/#agreements"
        assert "accept the new version" in notice["message"]

        await sam.send({"type": "send", "client_id": "s1", "body": "Hello?"})
        refused = await sam.receive_until("error")
        assert (refused["code"], refused["ref"]) == ("agreements_changed", "s1")

        # The facilitator who published them can go on posting, and gets no notice.
        await robin.send({"type": "send", "client_id": "r1", "body": "I've updated our agreements."})
        assert (await robin.receive_until("ack"))["message"]["seq"] == 1
        # Sam can still read.
        assert (await sam.receive_until("message"))["message"]["body"] == "I've updated our agreements."

        await database_sync_to_async(accept_agreements)(member, group, accepted_version=2)
        welcome = await sam.receive_until("notice")
        assert (welcome["code"], welcome["can_post"]) == ("agreements_accepted", True)
        await sam.send({"type": "send", "client_id": "s2", "body": "Thank you, I've read them."})
        assert (await sam.receive_until("ack"))["message"]["body"] == "Thank you, I've read them."


async def test_a_member_who_has_not_accepted_connects_unable_to_post(channel_layer, group, facilitator, member):
    await database_sync_to_async(change_agreements)(facilitator, group, NEW_AGREEMENTS)
    async with connected(member, group.slug) as sam:
        assert sam.ready["can_post"] is False


def test_a_new_version_is_numbered_and_keeps_the_old_one(group, facilitator):
    change_agreements(facilitator, group, NEW_AGREEMENTS)
    group.refresh_from_db()
    assert group.agreement_version == 2
    assert [a.text for a in group.current_agreements()] == NEW_AGREEMENTS
    assert group.agreements.filter(version=1).count() == 2
    event = Membership.objects.get(user=facilitator, group=group).events.first()
    assert (event.kind, event.actor) == ("groups.agreements.changed", facilitator)


def test_re_accepting_on_the_group_page_records_the_new_version(client, group, facilitator, member):
    change_agreements(facilitator, group, NEW_AGREEMENTS)
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/").content.decode()
    assert "The agreements have changed since you last accepted them" in page
    assert "We take turns and leave room for quiet voices." in page
    response = client.post(f"/groups/{group.slug}/join/", {"version": 2, "accept": "on"})
    assert response.status_code == 302
    assert Membership.objects.get(user=member, group=group).accepted_version == 2
    assert AgreementAcceptance.objects.filter(user=member, group=group, version=2).exists()


def test_accepting_a_version_that_is_no_longer_current_is_refused(group, facilitator, member):
    change_agreements(facilitator, group, NEW_AGREEMENTS)
    with pytest.raises(MembershipError, match="changed while you were reading"):
        accept_agreements(member, group, accepted_version=1)


def test_the_chat_page_tells_a_member_who_has_not_accepted_with_a_link(client, group, facilitator, member):
    change_agreements(facilitator, group, NEW_AGREEMENTS)
    client.force_login(member)
    page = client.get(f"/groups/{group.slug}/chat/").content.decode()
    assert "read and accept the new version" in page
    assert f'href="/groups/{group.slug}/"' in page


def test_only_this_groups_facilitators_change_the_agreements(client, group, member):
    with pytest.raises(NotAFacilitator):
        change_agreements(member, group, NEW_AGREEMENTS)
    client.force_login(member)
    assert client.post(f"/groups/{group.slug}/agreements/", {"texts": "Be quiet."}).status_code == 403
    group.refresh_from_db()
    assert group.agreement_version == 1


def test_the_facilitator_publishes_from_the_members_page(client, group, facilitator):
    client.force_login(facilitator)
    response = client.post(f"/groups/{group.slug}/agreements/", {"texts": "\n".join(NEW_AGREEMENTS) + "\n\n"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert [a.text for a in group.current_agreements()] == NEW_AGREEMENTS
    response = client.post(f"/groups/{group.slug}/agreements/", {"texts": "   "}, follow=True)
    assert "Please write at least one agreement." in response.content.decode()


def test_every_notice_code_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    for code in NoticeCode:
        assert f"| `{code.value}` |" in doc, code
