"""Asking to join a request-only group, and a facilitator of that group answering."""

import pytest

from groups.actions import approve_request, create_group, decline_request, request_to_join
from groups.errors import MembershipError
from groups.models import JoinPolicy, Membership, MembershipEvent, MembershipState

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_group(group):
    group.join_policy = JoinPolicy.REQUEST
    group.save()
    return group


def test_asking_to_join_records_the_request_and_the_agreements_read(client, request_group, outsider):
    client.force_login(outsider)
    response = client.post(
        f"/groups/{request_group.slug}/join/", {"version": 1, "accept": "on", "note": "I'd love to listen for a while."}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=outsider, group=request_group)
    assert membership.state == MembershipState.REQUESTED
    event = membership.events.get()
    assert event.kind == "groups.membership.requested"
    assert event.reason == "I'd love to listen for a while."
    page = client.get(f"/groups/{request_group.slug}/").content.decode()
    assert "Your request to join is with the facilitators" in page


def test_a_request_only_group_cannot_be_joined_directly(request_group, outsider):
    with pytest.raises(MembershipError, match="request a place"):
        from groups.actions import join_group

        join_group(outsider, request_group, accepted_version=1)


def test_the_facilitator_sees_the_request_and_approves_it_with_a_kind_word(
    client, request_group, facilitator, outsider
):
    membership = request_to_join(outsider, request_group, accepted_version=1, note="Hello")
    client.force_login(facilitator)
    page = client.get(f"/groups/{request_group.slug}/members/").content.decode()
    assert "Casey" in page and "Approve" in page
    response = client.post(
        f"/groups/{request_group.slug}/members/{membership.pk}/approve/", {"message": "Welcome, Casey!"}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.state == MembershipState.ACTIVE
    event = membership.events.first()
    assert (event.kind, event.actor, event.reason) == ("groups.membership.approved", facilitator, "Welcome, Casey!")
    client.force_login(outsider)
    page = client.get(f"/groups/{request_group.slug}/").content.decode()
    assert "Robin welcomed you: “Welcome, Casey!”" in page
    assert "Open the group chat" in page


def test_a_declined_person_sees_the_facilitators_kind_message(client, request_group, facilitator, outsider):
    membership = request_to_join(outsider, request_group, accepted_version=1)
    decline_request(facilitator, membership, "The group is settling in; please ask again in spring.")
    membership.refresh_from_db()
    assert membership.state == MembershipState.DECLINED
    client.force_login(outsider)
    page = client.get(f"/groups/{request_group.slug}/").content.decode()
    assert "please ask again in spring" in page
    # They may ask again later.
    request_to_join(outsider, request_group, accepted_version=1)
    assert Membership.objects.get(pk=membership.pk).state == MembershipState.REQUESTED


def test_a_request_cannot_be_approved_into_a_full_group(request_group, facilitator, outsider):
    membership = request_to_join(outsider, request_group, accepted_version=1)
    request_group.capacity = 2  # Sam and Alex hold both seats
    request_group.save()
    with pytest.raises(MembershipError, match="full"):
        approve_request(facilitator, membership)
    assert Membership.objects.get(pk=membership.pk).state == MembershipState.REQUESTED


def test_a_member_or_another_groups_facilitator_cannot_answer_requests(client, request_group, member, outsider):
    from tests.conftest import make_person

    other_facilitator = make_person("Morgan")
    create_group(name="Elsewhere", facilitators=[other_facilitator], agreements=["Be kind."])
    membership = request_to_join(outsider, request_group, accepted_version=1)
    for person in (member, other_facilitator, outsider):
        client.force_login(person)
        assert client.get(f"/groups/{request_group.slug}/members/").status_code == 403
        response = client.post(f"/groups/{request_group.slug}/members/{membership.pk}/approve/", {"message": ""})
        assert response.status_code == 403
    assert Membership.objects.get(pk=membership.pk).state == MembershipState.REQUESTED
    assert not MembershipEvent.objects.filter(kind="groups.membership.approved").exists()


def test_a_requester_cannot_open_the_chat(client, request_group, outsider):
    request_to_join(outsider, request_group, accepted_version=1)
    client.force_login(outsider)
    response = client.get(f"/groups/{request_group.slug}/chat/")
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{request_group.slug}/"
