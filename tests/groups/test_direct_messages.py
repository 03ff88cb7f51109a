"""Private messages are consent-first: a request, then accept or decline; refusals reveal nothing."""

import pytest

from groups.actions import (
    DM_REQUEST_SENT,
    DM_REQUESTS_PER_HOUR,
    accept_direct_message_request,
    block_member,
    decline_direct_message_request,
    leave_group,
    request_direct_message,
    send_direct_message,
    update_boundary_settings,
)
from groups.errors import BoundaryError
from groups.models import BlockedMember, DirectMessage, DirectMessageRequest

pytestmark = pytest.mark.django_db


def policy(user, dm_policy):
    update_boundary_settings(user, dm_policy=dm_policy, collapsed_labels=[], here_to_be_heard=False)


def test_a_request_accepted_opens_a_conversation_only_its_two_people_can_read(
    client, group, member, second_member, facilitator
):
    client.force_login(member)
    response = client.post("/messages/request/", {"person": second_member.pk, "note": "Coffee chat?"}, follow=True)
    assert DM_REQUEST_SENT in response.content.decode()
    request = DirectMessageRequest.objects.get()

    client.force_login(second_member)
    inbox = client.get("/messages/").content.decode()
    assert "Sam" in inbox and "Coffee chat?" in inbox
    response = client.post(f"/messages/requests/{request.pk}/accept/")
    assert response["Location"] == f"/messages/{request.pk}/"
    client.post(f"/messages/{request.pk}/", {"body": "Hi Sam, happy to talk."})

    client.force_login(member)
    assert "Hi Sam, happy to talk." in client.get(f"/messages/{request.pk}/").content.decode()

    # Facilitators cannot read it, nor can anyone else.
    client.force_login(facilitator)
    assert client.get(f"/messages/{request.pk}/").status_code == 404


def test_nothing_can_be_sent_before_the_request_is_accepted(group, member, second_member):
    request_direct_message(member, second_member)
    request = DirectMessageRequest.objects.get()
    with pytest.raises(BoundaryError):
        send_direct_message(member, request.pk, "Hello?")
    assert not DirectMessage.objects.exists()


def test_a_declined_person_sees_only_sent_and_asking_again_changes_nothing(client, group, member, second_member):
    request_direct_message(member, second_member)
    request = DirectMessageRequest.objects.get()
    decline_direct_message_request(second_member, request.pk)
    assert request_direct_message(member, second_member) == DM_REQUEST_SENT
    assert DirectMessageRequest.objects.count() == 1
    client.force_login(member)
    inbox = client.get("/messages/").content.decode()
    assert "To Alex: sent" in inbox and "declined" not in inbox.lower()
    client.force_login(second_member)
    assert "would like to talk privately" not in client.get("/messages/").content.decode()


def test_a_block_either_way_stops_requests_silently_and_closes_a_conversation(group, member, second_member):
    request_direct_message(member, second_member)
    conversation = accept_direct_message_request(second_member, DirectMessageRequest.objects.get().pk)
    send_direct_message(member, conversation.pk, "Hi")
    block_member(second_member, member)
    with pytest.raises(BoundaryError, match="closed"):
        send_direct_message(member, conversation.pk, "Are you there?")
    DirectMessageRequest.objects.all().delete()
    assert request_direct_message(member, second_member) == DM_REQUEST_SENT
    assert request_direct_message(second_member, member) == DM_REQUEST_SENT
    assert not DirectMessageRequest.objects.exists()


def test_nobody_means_no_requests_arrive_and_the_sender_is_not_told(group, member, second_member):
    policy(second_member, "nobody")
    assert request_direct_message(member, second_member) == DM_REQUEST_SENT
    assert not DirectMessageRequest.objects.exists()


def test_facilitators_only_lets_the_groups_facilitator_ask_and_nobody_else(group, member, second_member, facilitator):
    policy(second_member, "facilitators")
    request_direct_message(member, second_member)
    assert not DirectMessageRequest.objects.exists()
    request_direct_message(facilitator, second_member)
    assert DirectMessageRequest.objects.get().from_user == facilitator


def test_only_people_who_share_a_group_can_ask(group, member, outsider):
    request_direct_message(outsider, member)
    assert not DirectMessageRequest.objects.exists()


def test_requests_are_limited_per_hour_and_the_limit_says_so_kindly(group, member):
    from groups.actions import join_group
    from tests.conftest import make_person

    group.capacity = 20
    group.save()
    people = [make_person(f"Person {n}") for n in range(DM_REQUESTS_PER_HOUR + 1)]
    for person in people:
        join_group(person, group, accepted_version=1)
    for person in people[:DM_REQUESTS_PER_HOUR]:
        request_direct_message(member, person)
    with pytest.raises(BoundaryError, match=r"You can send another in about (60|59) minutes"):
        request_direct_message(member, people[-1])
    assert DirectMessageRequest.objects.count() == DM_REQUESTS_PER_HOUR


def test_only_the_recipient_answers_a_request(group, member, second_member, facilitator):
    request_direct_message(member, second_member)
    request = DirectMessageRequest.objects.get()
    for someone in (member, facilitator):
        with pytest.raises(BoundaryError):
            accept_direct_message_request(someone, request.pk)


def test_someone_who_left_every_shared_group_can_still_be_blocked_from_the_conversation(
    client, group, member, second_member
):
    """Alex leaves the only group they shared with Sam and goes on writing privately: Sam can
    still block them, from the conversation itself, and that closes it for both."""
    request_direct_message(member, second_member)
    conversation = DirectMessageRequest.objects.get()
    accept_direct_message_request(second_member, conversation.pk)
    leave_group(second_member, group)
    send_direct_message(second_member, conversation.pk, "You can't get away from me that easily.")

    client.force_login(member)
    page = client.get(f"/messages/{conversation.pk}/").content.decode()
    assert "Block Alex" in page
    boundaries = client.get("/settings/boundaries/").content.decode()
    assert f'<option value="{second_member.pk}">Alex</option>' in boundaries

    response = client.post(
        "/settings/boundaries/block/",
        {"person": second_member.pk, "next": f"/messages/{conversation.pk}/"},
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/messages/{conversation.pk}/"
    assert "You&#x27;ve blocked Alex" in page
    assert "This conversation is closed." in page
    assert "get away from me" not in page
    with pytest.raises(BoundaryError):
        send_direct_message(second_member, conversation.pk, "Hello?")
    assert DirectMessage.objects.count() == 1


def test_someone_i_never_shared_a_group_or_a_conversation_with_is_not_offered(client, group, member, outsider):
    client.force_login(member)
    boundaries = client.get("/settings/boundaries/").content.decode()
    assert f'value="{outsider.pk}"' not in boundaries
    client.post("/settings/boundaries/block/", {"person": outsider.pk})
    assert not BlockedMember.objects.exists()
