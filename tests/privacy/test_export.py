"""A person downloads everything we hold about them; other people appear only as "Person N"."""

import json

import pytest

from chat.actions import post_message
from groups.models import BlockedMember

pytestmark = pytest.mark.django_db


def test_the_export_holds_my_messages_memberships_and_boundaries_with_others_pseudonymised(
    client, group, member, second_member, settings
):
    settings.CHAT_RATE_LIMIT = (1_000, 10)
    post_message(member.pk, group.pk, client_id="m1", body="A hard morning, but I'm here.")
    post_message(second_member.pk, group.pk, client_id="a1", body="Alex's words are Alex's.")
    BlockedMember.objects.create(blocker=member, blocked=second_member)
    client.force_login(member)

    response = client.get("/accounts/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    export = json.loads(response.content)
    assert export["you"]["pseudonym"] == "Sam"
    records = export["records"]
    assert [m["body"] for m in records["chat.Message"]] == ["A hard morning, but I'm here."]
    assert {m["group"] for m in records["groups.Membership"]} == {"Quiet Harbour"}
    assert records["groups.BlockedMember"][0]["blocker"] == "you"
    assert records["groups.BlockedMember"][0]["blocked"] == "Person 1"
    text = response.content.decode()
    assert "Alex" not in text
    assert "Robin" not in text
    assert str(second_member.pk) not in {str(v) for row in records["groups.BlockedMember"] for v in row.values()}


def test_the_export_is_only_ever_my_own(client, outsider):
    response = client.get("/accounts/export/")
    assert response.status_code == 302  # anonymous: to the login page
    client.force_login(outsider)
    export = json.loads(client.get("/accounts/export/").content)
    assert export["you"]["pseudonym"] == "Casey"
    assert "chat.Message" not in export["records"]


def test_the_export_never_holds_a_password_hash(client, member):
    client.force_login(member)
    text = client.get("/accounts/export/").content.decode()
    assert "md5$" not in text and "argon2" not in text and "password" not in text.lower()
