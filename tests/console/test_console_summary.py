"""After the session: the summary page with its charts, and exports that never carry what anyone wrote."""

import csv
import io
import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from chat.actions import post_message
from chat.room import answer_round, close_round, open_round
from console.live import close_session, open_session
from groups.models import SessionAttendance
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.django_db

SECRET = "Something only the group should ever read"
SVG = "{http://www.w3.org/2000/svg}"


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


def chart(client, group, session, name):
    response = client.get(f"/groups/{group.slug}/sessions/{session.pk}/charts/{name}.svg")
    assert response["Content-Type"] == "image/svg+xml"
    return ElementTree.fromstring(response.content)  # noqa: S314 - the SVG our own template just drew


def bars(svg):
    """Each bar as (its label, its rect), in the order drawn."""
    return [
        (group.find(f"{SVG}text").text, group.find(f"{SVG}rect"))
        for group in svg.iter(f"{SVG}g")
        if group.get("class") == "bar"
    ]


def test_the_check_in_chart_draws_a_bar_as_long_as_each_count(client, group, facilitator, held_session):
    svg = chart(logged_in(client, facilitator), group, held_session, "checkins")
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Feelings and needs at check-in"
    assert svg.find(f"{SVG}desc").text == (
        "How many people named each feeling and need: Hopeful: 1; Anxious: 2; Need: To be heard: 1; Need: Rest: 1."
    )
    drawn = {label: float(rect.get("width")) for label, rect in bars(svg)}
    assert list(drawn) == ["Hopeful", "Anxious", "Need: To be heard", "Need: Rest"]
    one = drawn["Hopeful"]
    assert one > 0
    assert drawn["Anxious"] == pytest.approx(2 * one, abs=0.2)
    assert drawn["Need: To be heard"] == drawn["Need: Rest"] == one
    # Every bar starts at the same place, one row below the last.
    rects = [rect for _, rect in bars(svg)]
    assert len({rect.get("x") for rect in rects}) == 1
    tops = [float(rect.get("y")) for rect in rects]
    assert tops == sorted(tops) and len(set(tops)) == 4


def test_the_attendance_chart_draws_each_stay_across_the_hour(client, group, facilitator, held_session):
    svg = chart(logged_in(client, facilitator), group, held_session, "attendance")
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Who was here, and when"
    assert "Alex, from " in svg.find(f"{SVG}desc").text
    drawn = dict(bars(svg))
    assert list(drawn) == ["Robin (facilitator)", "Sam", "Alex"]
    robin, sam, alex = (drawn[name] for name in drawn)
    start, hour = float(robin.get("x")), float(robin.get("width"))  # Robin was here the whole hour
    assert float(sam.get("x")) == pytest.approx(start + hour * 2 / 60, abs=0.5)
    assert float(alex.get("x")) == pytest.approx(start + hour * 5 / 60, abs=0.5)
    assert float(alex.get("width")) == pytest.approx(hour * 35 / 60, abs=0.5)
    assert robin.get("fill") != sam.get("fill") == alex.get("fill")  # facilitators in their own colour, named too


def test_a_chart_with_nothing_to_draw_says_so(client, group, facilitator):
    open_session(facilitator.pk, group.pk)
    session = close_session(facilitator.pk, group.pk)
    client = logged_in(client, facilitator)
    for name, words in (
        ("checkins", "Nobody checked in during this session."),
        ("attendance", "Nobody was counted as here."),
    ):
        svg = chart(client, group, session, name)
        assert bars(svg) == []
        assert svg.find(f"{SVG}desc").text == words
        assert words in [text.text for text in svg.iter(f"{SVG}text")]


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
