"""The operators' figures: alerts in a period, time to acknowledgement (median, p95, worst), how many climbed
and how far, any still open; from `manage.py safeguarding_report` and a page only operators open."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from safeguarding.actions import take_alert
from safeguarding.escalation import escalate_due
from safeguarding.report import figures, percentile
from tests.safeguarding.conftest import MONDAY, raise_crisis

pytestmark = pytest.mark.django_db(transaction=True)


def _three_alerts(clock, group, member, facilitator, rota_member, operator):
    """Taken after 1 minute; taken by the rota after 22 minutes; still open, with the operators."""
    first = raise_crisis(member, group, "c1")
    clock.advance(minutes=1)
    take_alert(facilitator, first.pk)
    second = raise_crisis(member, group, "c2")
    clock.advance(minutes=22)
    escalate_due()
    take_alert(rota_member, second.pk)
    raise_crisis(member, group, "c3")
    clock.advance(minutes=30)
    escalate_due()
    escalate_due()


def test_the_figures_count_times_climbs_and_what_is_open(clock, group, member, facilitator, rota_member, operator):
    _three_alerts(clock, group, member, facilitator, rota_member, operator)
    week = figures(MONDAY, MONDAY + timedelta(days=7))
    assert (week.alerts, week.taken, week.still_open, week.climbed) == (3, 2, 1, 2)
    assert (week.median_seconds, week.worst_seconds) == ((60 + 22 * 60) / 2, 22 * 60)
    assert week.reached == {0: 1, 2: 1, 3: 1}


def test_percentiles_are_by_nearest_rank():
    values = sorted(float(n) for n in range(1, 101))
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0


def test_the_command_prints_the_figures(clock, group, member, facilitator, rota_member, operator):
    _three_alerts(clock, group, member, facilitator, rota_member, operator)
    out = StringIO()
    call_command("safeguarding_report", "--since", "2026-11-30", "--until", "2026-12-07", stdout=out)
    text = out.getvalue()
    assert "Alerts from 2026-11-30 00:00 to 2026-12-07 00:00 UTC: 3" in text
    assert "Time to acknowledgement: median 11.5 min, p95 22.0 min, worst 22.0 min" in text
    assert "Still open: 1" in text
    assert "the operators: 1" in text


def test_the_report_page_is_for_operators_only(clock, client, group, member, facilitator, rota_member, operator):
    _three_alerts(clock, group, member, facilitator, rota_member, operator)
    client.force_login(facilitator)
    assert client.get(reverse("safeguarding:report")).status_code == 403
    client.force_login(operator)
    page = client.get(reverse("safeguarding:report"), {"days": "7"})
    assert page.status_code == 200
    assert b'<dd id="figure-alerts">3</dd>' in page.content
    assert b'<dd id="figure-open">1</dd>' in page.content
