"""No hidden surveillance: each member can read on their own settings page what the radar would show about them,
and the group's page says what facilitators can see."""

import pytest

from chat.room import answer_round, close_round, open_round
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def page(client, person, path: str) -> str:
    client.login(username=person.pseudonym, password=PASSWORD)
    return client.get(path).content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def test_a_member_sees_exactly_what_the_radar_would_say_about_them(client, group, member, facilitator):
    round_ = open_round(facilitator.pk, group.pk, kind="checkin")
    answer_round(member.pk, group.pk, round_id=round_["id"], feelings=("lonely",), need="company")
    close_round(facilitator.pk, group.pk, round_id=round_["id"])
    html = page(client, member, "/settings/boundaries/")
    assert "What facilitators' wellbeing radar shows about you" in html
    assert "Quiet Harbour" in html
    assert "Checked in today feeling lonely." in html


def test_a_member_with_nothing_to_mention_is_told_so(client, group, second_member):
    html = page(client, second_member, "/settings/boundaries/")
    assert "Nothing: the radar has no reason to mention you." in html


def test_the_group_page_says_what_facilitators_can_see(client, group, outsider):
    html = page(client, outsider, f"/groups/{group.slug}/")
    assert "During a live session the facilitators' console shows" in html
    assert "I'm here to listen today" in html
    assert "kept for 30 days" in html
