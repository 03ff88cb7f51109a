import threading

import pytest
from django.db import connection

from groups.actions import create_group, join_group
from groups.errors import MembershipError
from groups.models import AgreementAcceptance, Membership, MembershipEvent, MembershipState, Role

pytestmark = pytest.mark.django_db


def test_a_group_has_a_facilitator_and_a_capacity(group, facilitator):
    facilitating = Membership.objects.get(group=group, role=Role.FACILITATOR)
    assert facilitating.user == facilitator
    assert group.capacity == 8


def test_a_group_cannot_be_created_without_a_facilitator():
    with pytest.raises(MembershipError):
        create_group(name="Nobody Home", facilitators=[], agreements=["Be kind."])


def test_the_group_page_shows_the_agreements(client, group, outsider):
    client.force_login(outsider)
    page = client.get(f"/groups/{group.slug}/").content.decode()
    assert "What is shared here stays here." in page
    assert "We listen with curiosity, not judgment." in page
    assert "Accept and join" in page


def test_joining_without_accepting_the_agreements_does_nothing(client, group, outsider):
    client.force_login(outsider)
    response = client.post(f"/groups/{group.slug}/join/", {"version": 1})
    assert response.status_code == 400
    assert "tick the box to accept them" in response.content.decode()
    assert not Membership.objects.filter(user=outsider, group=group).exists()


def test_joining_by_accepting_records_the_agreement_version(client, group, outsider):
    client.force_login(outsider)
    response = client.post(f"/groups/{group.slug}/join/", {"version": 1, "accept": "on"})
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.slug}/chat/"
    membership = Membership.objects.get(user=outsider, group=group)
    assert membership.state == MembershipState.ACTIVE
    assert membership.accepted_version == 1
    assert AgreementAcceptance.objects.filter(user=outsider, group=group, version=1).exists()
    assert MembershipEvent.objects.filter(membership=membership, kind="groups.membership.joined").exists()


def test_accepting_an_old_version_of_the_agreements_is_not_enough(client, group, outsider):
    group.agreement_version = 2
    group.save()
    client.force_login(outsider)
    response = client.post(f"/groups/{group.slug}/join/", {"version": 1, "accept": "on"})
    assert response.status_code == 400
    assert "agreements changed while you were reading" in response.content.decode()
    assert not Membership.objects.filter(user=outsider, group=group).exists()


def test_a_full_group_says_so_kindly(group, outsider):
    group.capacity = 2  # Sam and Alex already hold both seats
    group.save()
    with pytest.raises(MembershipError, match="full at the moment"):
        join_group(outsider, group, accepted_version=1)


def test_an_anonymous_visitor_is_asked_to_log_in_before_joining(client, group):
    response = client.post(f"/groups/{group.slug}/join/", {"version": 1, "accept": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_leaving_frees_the_seat(client, group, member):
    client.force_login(member)
    client.post(f"/groups/{group.slug}/leave/")
    assert Membership.objects.get(user=member, group=group).state == MembershipState.LEFT


def test_the_directory_lists_groups_and_filters_by_topic(client, group):
    create_group(
        name="Steady Ground", facilitators=[group.memberships.first().user], agreements=["x"], topic="eating_disorder"
    )
    page = client.get("/?topic=eating_disorder").content.decode()
    assert "Steady Ground" in page and "Quiet Harbour" not in page
    page = client.get("/?q=harbour").content.decode()
    assert "Quiet Harbour" in page and "Steady Ground" not in page


@pytest.mark.django_db(transaction=True)
def test_two_people_racing_for_the_last_seat_cannot_both_win(group, outsider):
    from tests.conftest import make_person

    group.capacity = 3
    group.save()
    latecomer = make_person("Jo")
    outcomes = []

    def try_join(person):
        try:
            join_group(person, group, accepted_version=1)
            outcomes.append("joined")
        except MembershipError:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=try_join, args=(person,)) for person in (outsider, latecomer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full", "joined"]
    assert Membership.objects.filter(group=group, role=Role.MEMBER, state=MembershipState.ACTIVE).count() == 3
