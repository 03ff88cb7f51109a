"""A member reports a private message the other person wrote: only theirs to report, once, and the
outcome reaches them as for a report in the chat."""

import html

import pytest
from django.test import Client

from groups.actions import create_group
from groups.models import DirectMessage, DirectMessageRequest, DirectMessageRequestState, Membership
from moderation.actions import report_direct_message
from moderation.models import Report
from moderation.records import ModerationRefused
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(group, member, second_member):
    thread = DirectMessageRequest.objects.create(
        from_user=member, to_user=second_member, state=DirectMessageRequestState.ACCEPTED
    )
    DirectMessage.objects.create(conversation=thread, author=member, body="Have you tried just eating less?")
    DirectMessage.objects.create(conversation=thread, author=second_member, body="Please stop.")
    return thread


def written_by(conversation, person) -> DirectMessage:
    return conversation.messages.get(author=person)


def report_url(conversation, message) -> str:
    return f"/messages/{conversation.pk}/report/{message.pk}/"


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def test_a_report_control_sits_beside_each_of_the_other_persons_messages_only(conversation, member, second_member):
    page = text_of(as_person(second_member).get(f"/messages/{conversation.pk}/"))
    assert report_url(conversation, written_by(conversation, member)) in page
    assert report_url(conversation, written_by(conversation, second_member)) not in page
    assert "Report this message from Sam" in page


def test_the_form_offers_the_same_reasons_as_a_report_in_the_chat_and_says_what_happens_next(
    conversation, member, second_member
):
    from moderation.models import ReportReason

    page = text_of(as_person(second_member).get(report_url(conversation, written_by(conversation, member))))
    for _, label in ReportReason.choices:
        assert label in page
    assert "Have you tried just eating less?" in page
    assert "A facilitator will read this one message, and nothing else of your conversation." in page
    assert "Sam isn't told that you reported it." in page
    assert "The facilitators of Quiet Harbour will read it." in page


def test_i_cannot_report_my_own_message(group, conversation, second_member):
    alex = as_person(second_member)
    own = written_by(conversation, second_member)
    assert alex.get(report_url(conversation, own)).status_code == 404
    posted = alex.post(report_url(conversation, own), {"reason": "other", "group": group.pk})
    assert posted.status_code == 404
    with pytest.raises(ModerationRefused, match="couldn't find"):
        report_direct_message(
            second_member, conversation_id=conversation.pk, direct_message_id=own.pk, group_id=group.pk, reason="other"
        )
    assert not Report.objects.exists()


def test_nobody_can_report_a_message_in_a_conversation_they_are_not_in(
    group, conversation, member, facilitator, outsider
):
    sams = written_by(conversation, member)
    for person in (facilitator, outsider):
        client = as_person(person)
        assert client.get(report_url(conversation, sams)).status_code == 404
        assert client.post(report_url(conversation, sams), {"reason": "other", "group": group.pk}).status_code == 404
        with pytest.raises(ModerationRefused):
            report_direct_message(
                person, conversation_id=conversation.pk, direct_message_id=sams.pk, group_id=group.pk, reason="other"
            )
    assert not Report.objects.exists()


def test_a_message_from_another_conversation_is_not_found_through_mine(group, conversation, member, second_member):
    other = DirectMessageRequest.objects.create(
        from_user=member, to_user=make_person("Jo"), state=DirectMessageRequestState.ACCEPTED
    )
    elsewhere = DirectMessage.objects.create(conversation=other, author=member, body="Not for Alex.")
    response = as_person(second_member).get(report_url(conversation, elsewhere))
    assert response.status_code == 404


def test_reporting_the_same_message_twice_is_answered_not_duplicated(group, conversation, member, second_member):
    alex = as_person(second_member)
    url = report_url(conversation, written_by(conversation, member))
    alex.post(url, {"reason": "advice", "group": group.pk})
    again = alex.post(url, {"reason": "advice", "group": group.pk})
    assert again.status_code == 400
    assert "You've already reported this message." in text_of(again)
    assert Report.objects.count() == 1


def test_a_reason_not_in_the_list_or_a_group_we_do_not_share_is_refused_kindly(
    group, conversation, member, second_member
):
    alex = as_person(second_member)
    url = report_url(conversation, written_by(conversation, member))
    wrong_reason = alex.post(url, {"reason": "because", "group": group.pk})
    assert wrong_reason.status_code == 400
    assert "Please choose one of the reasons in the list." in text_of(wrong_reason)

    unshared = create_group(name="Other Harbour", facilitators=[make_person("Morgan")], agreements=["Be kind."])
    wrong_group = alex.post(url, {"reason": "other", "group": unshared.pk})
    assert wrong_group.status_code == 400
    with pytest.raises(ModerationRefused, match="groups you share"):
        report_direct_message(
            second_member,
            conversation_id=conversation.pk,
            direct_message_id=written_by(conversation, member).pk,
            group_id=unshared.pk,
            reason="other",
        )
    assert not Report.objects.exists()


def test_when_we_no_longer_share_a_group_the_page_says_so_and_offers_to_block_instead(
    group, conversation, member, second_member
):
    Membership.objects.filter(user=member, group=group).delete()
    alex = as_person(second_member)
    url = report_url(conversation, written_by(conversation, member))
    page = text_of(alex.get(url))
    assert "no longer share a group" in page
    assert "Send to the facilitators" not in page
    assert "Block Sam" in page

    blocked = alex.post(
        "/settings/boundaries/block/", {"person": member.pk, "next": f"/messages/{conversation.pk}/"}, follow=True
    )
    assert blocked.redirect_chain[-1][0] == f"/messages/{conversation.pk}/"
    assert "This conversation is closed." in text_of(blocked)
    assert not Report.objects.exists()
    # Once blocked, the page still explains, and no longer offers it.
    after = alex.get(url)
    assert after.status_code == 200
    assert "no longer share a group" in text_of(after)
    assert "Block Sam" not in text_of(after)


def test_the_facilitator_answers_from_the_queue_and_the_outcome_reaches_the_reporter(
    group, conversation, member, second_member, facilitator
):
    alex = as_person(second_member)
    alex.post(report_url(conversation, written_by(conversation, member)), {"reason": "advice", "group": group.pk})
    report = Report.objects.get()
    assert "Waiting for a facilitator" in text_of(alex.get("/reports/mine/"))
    assert "A private message, to the facilitators of Quiet Harbour" in text_of(alex.get("/reports/mine/"))

    robin = as_person(facilitator)
    answered = robin.post(
        f"/groups/{group.slug}/moderation/act/",
        {"action": "resolve_report", "report": report.pk, "outcome": "I've had a word with Sam. Thank you."},
        follow=True,
    )
    assert "The person who reported it has been told the outcome." in text_of(answered)
    assert "Have you tried just eating less?" not in text_of(robin.get(f"/groups/{group.slug}/moderation/"))

    mine = text_of(alex.get("/reports/mine/"))
    assert "I've had a word with Sam. Thank you." in mine
    assert "Answered" in mine
    assert "I've had a word with Sam" not in text_of(as_person(member).get("/reports/mine/"))


def test_the_facilitator_can_warn_the_writer_privately_from_the_report(
    group, conversation, member, second_member, facilitator
):
    from moderation.models import MemberWarning

    report_direct_message(
        second_member,
        conversation_id=conversation.pk,
        direct_message_id=written_by(conversation, member).pk,
        group_id=group.pk,
        reason="advice",
    )
    robin = as_person(facilitator)
    queue = text_of(robin.get(f"/groups/{group.slug}/moderation/"))
    assert "Warn, pause, remove or ban Sam" in queue
    robin.post(
        f"/groups/{group.slug}/moderation/act/",
        {"action": "warn", "member": member.pk, "agreement": 2, "note": "Let's keep advice for when it's asked for."},
    )
    assert MemberWarning.objects.filter(member=member, group=group).exists()
