"""After the session: the summary page with its charts, and exports that never carry what anyone wrote."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.actions import post_message
from chat.room import answer_round, close_round, open_round
from console.live import close_session, open_session
from groups.models import SessionAttendance
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.django_db

SECRET = "Something only the group should ever read"


@pytest.fixture
def held_session(group, member, second_member, facilitator):
    """A session an hour long: Sam and Alex checked in, Sam said something, Alex left early."""
    start = timezone.now() - timedelta(hours=1)
    session = open_session(facilitator.pk, group.pk, now=start)
    SessionAttendance.objects.bulk_create(
        [
            SessionAttendance(session=session, user=facilitator, arrived_at=start),
            SessionAttendance(session=session, user=member, arrived_at=start + timedelta(minutes=2)),
            SessionAttendance(
                session=session,
                user=second_member,
                arrived_at=start + timedelta(minutes=5),
                left_at=start + timedelta(minutes=40),
            ),
        ]
    )
    round_ = open_round(facilitator.pk, group.pk, kind="checkin")
    answer_round(member.pk, group.pk, round_id=round_["id"], feelings=("anxious", "hopeful"), need="to_be_heard")
    answer_round(second_member.pk, group.pk, round_id=round_["id"], feelings=("anxious",), need="rest", note=SECRET)
    close_round(facilitator.pk, group.pk, round_id=round_["id"])
    post_message(member.pk, group.pk, client_id="words", body=SECRET)
    return close_session(facilitator.pk, group.pk)


def logged_in(client, person):
    client.login(username=person.pseudonym, password=PASSWORD)
    return client


def test_the_summary_shows_attendance_rounds_and_the_check_in_chart(client, group, facilitator, held_session):
    page = logged_in(client, facilitator).get(f"/groups/{group.slug}/sessions/{held_session.pk}/summary/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/groups/{group.slug}/sessions/{held_session.pk}/charts/checkins.svg" in html
    assert "anxious 2" in html  # the chart's text alternative
    assert "Check-in round at" in html and "2 answers" in html
    assert "Alex" in html and "Sam" in html
    assert SECRET not in html


def test_the_charts_are_svg_drawn_by_matplotlib(client, group, facilitator, held_session):
    client = logged_in(client, facilitator)
    for chart in ("checkins", "attendance"):
        response = client.get(f"/groups/{group.slug}/sessions/{held_session.pk}/charts/{chart}.svg")
        assert response["Content-Type"] == "image/svg+xml"
        svg = response.content.decode()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert "Matplotlib" in svg
    checkins = client.get(f"/groups/{group.slug}/sessions/{held_session.pk}/charts/checkins.svg").content.decode()
    assert "Anxious" in checkins and "Need: Rest" in checkins


def test_the_json_export_has_counts_and_times_but_no_words(client, group, facilitator, held_session):
    response = logged_in(client, facilitator).get(f"/groups/{group.slug}/sessions/{held_session.pk}/export.json")
    assert 'attachment; filename="quiet-harbour-session-' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["feelings"] == {"hopeful": 1, "anxious": 2}
    assert data["needs"] == {"to_be_heard": 1, "rest": 1}
    assert data["checkins"] == 2
    alex = next(person for person in data["attendance"] if person["pseudonym"] == "Alex")
    assert alex["minutes"] == 35
    assert SECRET not in response.content.decode()


def test_the_csv_export_has_the_same_and_no_words(client, group, facilitator, held_session):
    response = logged_in(client, facilitator).get(f"/groups/{group.slug}/sessions/{held_session.pk}/export.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "name", "value", "arrived_at", "left_at"]
    assert ["feeling", "anxious", "2", "", ""] in rows
    assert any(row[:3] == ["attendance", "Alex", "35"] for row in rows)
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize("path", ["summary/", "charts/checkins.svg", "export.json", "export.csv"])
def test_members_and_other_facilitators_are_refused_the_summary(client, group, member, held_session, path):
    morgan = make_person("Morgan")
    for person in (member, morgan):
        client.logout()
        response = logged_in(client, person).get(f"/groups/{group.slug}/sessions/{held_session.pk}/{path}")
        assert response.status_code == 403
