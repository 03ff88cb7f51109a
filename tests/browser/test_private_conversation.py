"""A private conversation in headless Chromium against a real daphne: a reply appears without a
reload, the draft being written stays as it was, and if the other person blocks, the page says the
conversation is closed and the box goes."""

import pytest
from playwright.sync_api import expect

from groups.actions import create_group, join_group
from groups.models import DirectMessageRequest, DirectMessageRequestState
from tests.browser.conftest import page_for
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_REPLY_WITHIN_MS = 20_000  # the page re-reads itself every 10 s while in view


def test_a_reply_appears_by_itself_and_a_block_closes_the_page(browser, facilitator, member, second_member):
    group = create_group(name="Evening Harbour", facilitators=[facilitator], agreements=["Be kind."])
    join_group(member, group, accepted_version=group.agreement_version)
    join_group(second_member, group, accepted_version=group.agreement_version)
    thread = DirectMessageRequest.objects.create(
        from_user=member, to_user=second_member, state=DirectMessageRequestState.ACCEPTED
    )
    path = f"/messages/{thread.pk}/"
    with Daphne() as server:
        sam = page_for(browser, server, member, path)
        alex = page_for(browser, server, second_member, path)
        draft = "I've been thinking about what you said, and"
        alex.get_by_label("Your message").fill(draft)

        sam.get_by_label("Your message").fill("How was today, honestly?")
        sam.get_by_role("button", name="Send").click()
        expect(sam.locator("#conversation-messages")).to_contain_text("How was today, honestly?")

        conversation = alex.get_by_role("log", name="Messages with Sam")
        expect(conversation).to_contain_text("How was today, honestly?", timeout=NEW_REPLY_WITHIN_MS)
        expect(conversation.get_by_role("link", name="Report this message from Sam")).to_be_visible()
        expect(conversation.locator("li.empty")).to_have_count(0)
        expect(alex.get_by_label("Your message")).to_have_value(draft)  # no reload: the draft is as it was

        sam.get_by_role("button", name="Block Alex").click()
        expect(sam.get_by_text("This conversation is closed.")).to_be_visible()
        expect(alex.get_by_text("This conversation is closed.")).to_be_visible(timeout=NEW_REPLY_WITHIN_MS)
        expect(alex.get_by_label("Your message")).to_have_count(0)
        expect(alex.get_by_role("button", name="Block Sam")).to_have_count(0)
        assert alex.problems == [] and sam.problems == []
