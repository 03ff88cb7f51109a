"""Facilitators (and anyone else outside the conversation) cannot read direct messages on any page."""

import pytest
from django.test import Client

from supportcircle.accounts.models import User
from tests.conftest import PASSWORD
from tests.security.scene import url_values
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db

SECRET = "Just between us: thank you."  # the direct message url_values() stores between Sam and Alex


def every_page_as(client: Client, values: dict) -> str:
    return "\n".join(client.get(route.url(values)).content.decode(errors="replace") for route in routes())


@pytest.mark.parametrize("reader", ["facilitator", "outsider", "staff"])
def test_no_page_shows_a_direct_message_to_someone_outside_it(
    reader, group, member, second_member, facilitator, outsider
):
    values = url_values(group, member, second_member, facilitator)
    people = {
        "facilitator": facilitator,
        "outsider": outsider,
        "staff": User.objects.create_user("Site Staff", PASSWORD, is_staff=True),
    }
    client = Client()
    client.force_login(people[reader])
    assert SECRET not in every_page_as(client, values)
    response = client.get(f"/messages/{values['conversation_id']}/")
    assert response.status_code in (403, 404)


def test_the_two_people_in_the_conversation_can_read_it(group, member, second_member, facilitator):
    values = url_values(group, member, second_member, facilitator)
    for person in (member, second_member):
        client = Client()
        client.force_login(person)
        assert SECRET in client.get(f"/messages/{values['conversation_id']}/").content.decode()
