"""The safeguarding cast, beside the usual one (Sam and Alex are members of Quiet Harbour, Robin facilitates it):
Morgan is on the rota (every day, in Auckland time), Jordan is an operator, and the clock is the test's to move."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from chat.actions import post_message
from moderation.models import AuditEntry
from safeguarding.models import AlertCase, RotaHours, RotaMember
from tests.conftest import make_person

CRISIS = "I don't think I can keep going. I want to kill myself."
# A Monday morning, UTC.
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Clock:
    """Django's idea of now, moved by the test (``advance``), never slept."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(MONDAY)
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://circle.example"


@pytest.fixture
def rota_member(db):
    """Morgan: on the rota all day, every day, in Auckland time."""
    morgan = make_person("Morgan", email="morgan@example.org")
    member = RotaMember.objects.create(user=morgan, time_zone="Pacific/Auckland")
    for weekday in range(7):
        RotaHours.objects.create(member=member, weekday=weekday, starts=time(0, 0), ends=time(0, 0))
    return morgan


@pytest.fixture
def operator(db):
    return make_person("Jordan", email="jordan@example.org", is_staff=True)


@pytest.fixture
def with_email(facilitator):
    facilitator.email = "robin@example.org"
    facilitator.save(update_fields=["email"])
    return facilitator


def raise_crisis(member, group, ref: str = "crisis-1", body: str = CRISIS) -> AlertCase:
    post_message(member.pk, group.pk, client_id=ref, body=body)
    return AlertCase.objects.select_related("alert").get(alert__message__client_id=ref, group=group)


def steps(group) -> list[tuple[str, datetime, str]]:
    """The group's safeguarding steps in its audit log, oldest first: (kind, time, note)."""
    entries = AuditEntry.objects.filter(group=group, kind__startswith="safeguarding.").order_by("at", "id")
    return [(entry.kind, entry.at, entry.note) for entry in entries]
