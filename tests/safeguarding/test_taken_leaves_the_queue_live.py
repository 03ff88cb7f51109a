"""When a rota member or an operator takes an alert, the group's facilitators' open consoles hear it at once
(the alert leaves their queue), only after the change is committed; the member's socket hears nothing."""

import pytest
from channels.db import database_sync_to_async

from moderation.models import Alert
from safeguarding.actions import take_alert
from tests.conftest import connected
from tests.moderation.scene import nothing_more, send
from tests.safeguarding.conftest import CRISIS

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_operator_taking_it_clears_it_from_the_facilitators_queue(
    channel_layer, group, member, facilitator, operator
):
    async with connected(member, group.slug) as sam, connected(facilitator, group.slug) as robin:
        await sam.send(send("crisis-1", CRISIS))
        await sam.receive_until("crisis_resources")
        alert = (await robin.receive_until("crisis_alert"))["alert"]
        case = await database_sync_to_async(lambda: alert_case(alert["id"]))()

        await database_sync_to_async(take_alert)(operator, case.pk)

        resolved = (await robin.receive_until("queue_item"))["item"]
        assert (resolved["kind"], resolved["id"], resolved["state"]) == ("alert", alert["id"], "resolved")
        assert "Jordan" not in str(await nothing_more(sam))  # never who has it


def alert_case(alert_id):
    from safeguarding.models import AlertCase

    return AlertCase.objects.get(alert_id=alert_id)


def test_nothing_is_told_before_the_take_commits(group, member, operator, monkeypatch):
    from django.db import transaction

    from chat.actions import post_message
    from supportcircle import realtime

    post_message(member.pk, group.pk, client_id="crisis-2", body=CRISIS)
    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda channel, event: sent.append(channel))
    case = alert_case(Alert.objects.get().pk)
    with transaction.atomic():
        take_alert(operator, case.pk)
        assert sent == []  # inside the transaction: nothing yet
    assert sent == [f"facilitators.{group.pk}"]
