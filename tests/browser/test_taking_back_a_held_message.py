"""Sam shares their phone number by mistake; it is held. Sam takes it back to word it again, and Robin's console
lets go of it at once (headless Chromium against a real daphne)."""

import pytest
from playwright.sync_api import expect

from chat.models import Message, MessageState
from groups.actions import create_group, join_group
from tests.browser.conftest import expect_connected, page_for, say_in_chat
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACT = "Text me on 07700 900123 and we can talk outside the group."
AGAIN = "I'd love to keep talking about this here next week."


def test_a_member_takes_back_their_held_message_and_words_it_again(browser, facilitator, member):
    group = create_group(
        name="Evening Harbour", facilitators=[facilitator], agreements=["Be kind."], rulesets=["off_platform"]
    )
    join_group(member, group, accepted_version=1)
    with Daphne() as server:
        robin = page_for(browser, server, facilitator, f"/groups/{group.slug}/console/")
        sam = page_for(browser, server, member, f"/groups/{group.slug}/chat/")
        expect_connected(robin, sam)

        say_in_chat(sam, CONTACT)
        held = sam.locator("#messages li", has_text=CONTACT)
        expect(held.locator(".held-note")).to_be_visible()
        expect(robin.locator("#queue li.queue-item", has_text="Held message")).to_have_count(1)

        held.get_by_role("button", name="Edit and send again your message held for review").click()

        expect(sam.locator("#composer-body")).to_have_value(CONTACT)
        expect(sam.locator("#composer-body")).to_be_focused()
        expect(sam.locator("#messages")).not_to_contain_text(CONTACT)
        expect(sam.get_by_text("You took your message back.")).to_be_visible()
        expect(robin.locator("#queue li.queue-item")).to_have_count(0)

        say_in_chat(sam, AGAIN)
        expect(sam.locator("#messages li", has_text=AGAIN)).to_be_visible()
        expect(robin.locator("#console-messages")).to_contain_text(AGAIN)
        assert sam.problems == [] and robin.problems == []
    states = dict(Message.objects.filter(group=group).values_list("body", "state"))
    assert states == {"": MessageState.REMOVED_BY_AUTHOR, AGAIN: MessageState.VISIBLE}
