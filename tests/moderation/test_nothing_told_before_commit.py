"""Nobody is told about a moderation action that did not happen: sockets hear of it only after it commits."""

import pytest
from django.db import transaction

from chat.actions import post_message
from moderation import actions
from moderation.models import AuditEntry
from supportcircle import realtime

pytestmark = pytest.mark.django_db(transaction=True)

CRISIS = "I want to kill myself."


def test_a_hidden_message_and_a_crisis_alert_are_announced_only_after_commit(circle, member, facilitator, monkeypatch):
    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda channel, event: sent.append(channel))
    seq = post_message(member.pk, circle.pk, client_id="c-1", body="Hello").message.seq
    sent.clear()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            actions.hide_message(facilitator, circle, seq=seq, agreement_number=2)
            post_message(member.pk, circle.pk, client_id="c-2", body=CRISIS)
            assert sent == []
            raise RuntimeError("the surrounding transaction fails")
    assert sent == []
    assert not AuditEntry.objects.exists()

    actions.hide_message(facilitator, circle, seq=seq, agreement_number=2)
    assert f"group.{circle.pk}" in sent and f"user.{member.pk}" in sent
