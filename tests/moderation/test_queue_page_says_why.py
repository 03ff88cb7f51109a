"""The queue page says why a message was held, and never removes anything under an agreement nobody chose."""

import re

import pytest
from django.test import Client

from chat.actions import post_message
from chat.models import Message, MessageState
from moderation.actions import report_message
from tests.moderation.scene import agreement

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "Text me on 07700 900123 and we can talk outside the group."


def queue_page(user, slug: str) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/groups/{slug}/moderation/").content.decode()


def select(page: str, select_id: str) -> str:
    return re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(0)


def test_a_held_message_says_which_agreement_and_what_was_found(circle, member, facilitator):
    message = post_message(member.pk, circle.pk, client_id="why-1", body=CONTACT).message
    off_platform = agreement(circle, "stay_here")

    page = queue_page(facilitator, circle.slug)

    assert f"Held because it may go against agreement {off_platform.number}: “{off_platform.text}”" in page
    assert "What was noticed: a way to reach someone outside the group" in page
    assert "“07700 900123”" in page
    assert message.state == MessageState.HELD


def test_the_remove_menu_of_a_held_message_preselects_the_agreement_it_was_held_under(circle, member, facilitator):
    message = post_message(member.pk, circle.pk, client_id="why-2", body=CONTACT).message
    off_platform = agreement(circle, "stay_here")

    menu = select(queue_page(facilitator, circle.slug), f"hide-agreement-{message.pk}")

    assert "required" in menu.split(">", 1)[0]
    assert re.findall(r'<option value="(\d*)"[^>]* selected', menu) == [str(off_platform.number)]


def test_the_remove_menu_of_a_report_has_no_agreement_chosen_until_the_facilitator_chooses(
    circle, member, second_member, facilitator
):
    seq = post_message(member.pk, circle.pk, client_id="why-3", body="Just saying hello").message.seq
    report = report_message(second_member.pk, circle.pk, seq=seq, reason="other")

    menu = select(queue_page(facilitator, circle.slug), f"report-hide-{report.pk}")

    assert "required" in menu.split(">", 1)[0]
    assert "selected" not in menu
    assert '<option value="">Choose the agreement…</option>' in menu


def test_removing_without_choosing_an_agreement_is_refused_with_a_clear_error(circle, member, facilitator):
    message = post_message(member.pk, circle.pk, client_id="why-4", body=CONTACT).message
    client = Client()
    client.force_login(facilitator)

    response = client.post(
        f"/groups/{circle.slug}/moderation/act/", {"action": "hide", "seq": message.seq, "agreement": ""}, follow=True
    )

    assert "Please choose the agreement this is about." in response.content.decode()
    message.refresh_from_db()
    assert message.state == MessageState.HELD
    assert not Message.objects.filter(state=MessageState.REMOVED_UNDER_AGREEMENT).exists()
