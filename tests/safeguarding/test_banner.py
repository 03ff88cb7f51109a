"""The banner: every signed-in page of a facilitator, rota member or operator carries it; the feed lists the
alerts that person may take now, and asking for it counts as being connected."""

import re

import pytest
from django.urls import reverse

from safeguarding.actions import take_alert
from safeguarding.models import Presence
from tests.safeguarding.conftest import raise_crisis

pytestmark = pytest.mark.django_db


def test_the_banner_is_on_the_pages_of_facilitators_rota_members_and_operators_only(
    client, group, member, facilitator, rota_member, operator
):
    for person, carries in ((facilitator, True), (rota_member, True), (operator, True), (member, False)):
        client.force_login(person)
        page = client.get(reverse("groups:mine"))
        assert (b"js/safeguarding-banner.js" in page.content) is carries, person
        assert (b'role="alert" aria-live="assertive"' in page.content) is carries


def test_the_banner_carries_the_pages_csrf_token(client, group, facilitator):
    client.force_login(facilitator)
    page = client.get(reverse("groups:mine")).content.decode()
    banner = page[page.index('<aside class="safeguarding-banner"') : page.index("</aside>")]
    assert re.search(r'name="csrfmiddlewaretoken" value="[^"]+"', banner)


def test_the_feed_lists_an_open_alert_for_the_groups_facilitator_until_it_is_taken(
    clock, client, group, member, facilitator
):
    case = raise_crisis(member, group)
    client.force_login(facilitator)
    clock.advance(minutes=3)
    (shown,) = client.get(reverse("safeguarding:banner")).json()["alerts"]
    assert shown == {
        "id": case.pk,
        "group": "Quiet Harbour",
        "waiting_minutes": 3,
        "url": f"/safeguarding/alerts/{case.pk}/",
        "take_url": f"/safeguarding/alerts/{case.pk}/take/",
    }
    assert Presence.objects.get(user=facilitator).seen_at == clock.now
    take_alert(facilitator, case.pk)
    assert client.get(reverse("safeguarding:banner")).json() == {"alerts": []}


def test_a_rota_member_sees_only_what_they_were_paged_for(clock, client, group, member, rota_member):
    raise_crisis(member, group)  # Robin is here: the rota is not paged yet
    client.force_login(rota_member)
    assert client.get(reverse("safeguarding:banner")).json() == {"alerts": []}


def test_a_rota_member_can_mark_themselves_unavailable_and_back(client, rota_member):
    client.force_login(rota_member)
    assert b"I'm unavailable for now" in client.get(reverse("safeguarding:rota")).content
    client.post(reverse("safeguarding:rota"), {"available": "no"})
    rota_member.rota_member.refresh_from_db()
    assert rota_member.rota_member.is_available is False
    client.post(reverse("safeguarding:rota"), {"available": "yes"})
    rota_member.rota_member.refresh_from_db()
    assert rota_member.rota_member.is_available is True


def test_someone_not_on_the_rota_has_no_rota_page(client, member):
    client.force_login(member)
    assert client.get(reverse("safeguarding:rota")).status_code == 404
