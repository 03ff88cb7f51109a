"""Several schedulers (one per server, say) never page the same step twice: each claims an alert with
``select_for_update(skip_locked=True)`` and leaves one another process holds to it. PostgreSQL only:
SQLite has no row locks (it lets one writer in at a time instead)."""

import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from safeguarding.escalation import escalate_due
from safeguarding.models import AlertCase, Step
from tests.safeguarding.conftest import raise_crisis

pytestmark = [pytest.mark.postgresql_only, pytest.mark.django_db(transaction=True)]


def test_an_alert_another_scheduler_holds_is_left_to_it(clock, group, member, with_email):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    case = raise_crisis(member, group)
    clock.advance(minutes=10)
    holding, done = threading.Event(), threading.Event()

    def other_scheduler() -> None:
        from django.db import connection as own

        try:
            with transaction.atomic():
                AlertCase.objects.select_for_update().get(pk=case.pk)
                holding.set()
                done.wait(10)
        finally:
            own.close()

    other = threading.Thread(target=other_scheduler)
    other.start()
    assert holding.wait(10)
    try:
        assert escalate_due() == 0  # skipped at once, not waited for
    finally:
        done.set()
        other.join()
    assert escalate_due() == 1
    case.refresh_from_db()
    assert case.step == Step.GROUP_FACILITATORS and len(mail.outbox) == 1
