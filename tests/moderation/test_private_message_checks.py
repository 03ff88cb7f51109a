"""The group's checks on private messages: contact details are asked about first; crisis brings the
sender the support lines at once, from the phrase engine or from the real second opinion."""

import pytest

from groups.actions import accept_direct_message_request, request_direct_message, send_direct_message
from groups.errors import AskFirst
from groups.models import DirectMessage, DirectMessageRequest
from moderation import follow_up

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "text me on 07700 900123 and we can talk properly"
MEDICAL = "my heart keeps skipping and I fainted at work after purging, I can't feel my hands"


@pytest.fixture
def conversation(group, member, second_member):
    request_direct_message(member, second_member)
    request = DirectMessageRequest.objects.get()
    accept_direct_message_request(second_member, request.pk)
    return request


@pytest.fixture
def model_ready():
    assert follow_up.worker().ready.wait(60)


def test_contact_details_are_asked_about_first_and_sent_only_if_the_sender_chooses(client, conversation, member):
    client.force_login(member)
    page = client.post(f"/messages/{conversation.pk}/", {"body": PHONE})
    assert page.status_code == 200
    text = page.content.decode()
    assert "help keep either of you safe" in text and "send it anyway" in text
    assert not DirectMessage.objects.exists()

    client.post(f"/messages/{conversation.pk}/", {"body": PHONE, "send_anyway": "on"})
    assert DirectMessage.objects.get().body == PHONE


def test_crisis_words_in_a_private_message_are_sent_and_bring_the_sender_the_support_lines(
    client, conversation, member, model_ready
):
    client.force_login(member)
    page = client.post(f"/messages/{conversation.pk}/", {"body": "I want to kill myself tonight"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "You don&#x27;t have to carry this alone" in text and "Find a helpline near you" in text
    assert DirectMessage.objects.get().body == "I want to kill myself tonight"


def test_medical_danger_without_crisis_words_gets_the_urgent_care_card_from_the_second_opinion(
    conversation, member, model_ready
):
    sent = send_direct_message(member, conversation.pk, MEDICAL)
    assert sent.care_card is not None and sent.care_card["kind"] == "medical"
    assert "urgent medical care" in sent.care_card["message"]


def test_an_everyday_private_message_is_simply_sent(conversation, member, model_ready):
    sent = send_direct_message(member, conversation.pk, "thanks for listening earlier, it helped")
    assert sent.care_card is None


def test_the_check_runs_in_the_action_so_every_caller_gets_it(conversation, member):
    with pytest.raises(AskFirst):
        send_direct_message(member, conversation.pk, PHONE)
