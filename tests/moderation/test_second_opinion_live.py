"""The second opinion on the live send path: a message posts at once; a moment later, what the model
found reaches the right people. The model is the real one; only overload is forced, at the worker."""

import logging
from functools import partial

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from moderation import follow_up
from moderation.models import Alert, AuditEntry
from moderation.second_opinion.worker import SecondOpinionWorker
from supportcircle import metrics
from tests.conftest import connected
from tests.moderation.scene import nothing_more, send
from tests.support import second_opinion_work as work

pytestmark = pytest.mark.django_db(transaction=True)

# No crisis words the phrase engine knows; the second opinion is confident (checked in the tests).
PLAN = "counted them twice. 46. should be plenty. sorting my things out tonight so nobody has to"
DANGER_AT_HOME = (
    "he's downstairs again and he said if I tell anyone he'll finish it this time, I'm hiding in the bathroom"
)
BODY_FAILING = "my heart keeps skipping and I fainted at work after purging, I can't feel my hands"
EYE_ROLL = "you always want attention, honestly 🙄"
# Between the two crisis thresholds: worried, not sure.
MAYBE = "i'm so tired of fighting all the time"
# A second opinion answers within 2 s at human pace (docs/moderation.md): the tests wait no longer.
WITHIN = 2.0


@pytest.fixture
def model_ready():
    """The model loads once per process in the worker's child (as a server's first socket starts it)."""
    assert follow_up.worker().ready.wait(60)


async def test_a_crisis_without_crisis_words_brings_the_card_and_the_alert_a_moment_later(
    channel_layer, circle, member, second_member, facilitator, model_ready
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
        connected(facilitator, circle.slug) as robin,
    ):
        await sam.send(send("plan-1", PLAN))
        ack = await sam.receive_until("ack")
        assert ack["message"]["state"] == "visible"  # posted at once, nothing held
        assert (await alex.receive_until("message"))["message"]["body"] == PLAN

        card = await sam.receive_until("crisis_resources", timeout=WITHIN)
        assert card["kind"] == "suicide" and card["quick_exit"] is False
        assert "let know" not in card["message"] and "a facilitator knows" in card["message"]

        alert = (await robin.receive_until("crisis_alert", timeout=WITHIN))["alert"]
        assert (alert["category"], alert["source"], alert["member"]["id"]) == ("crisis", "second_opinion", member.pk)
        assert alert["message"]["body"] == PLAN

        hint = await alex.receive_until("peer_hint", timeout=WITHIN)
        assert hint["seq"] == ack["message"]["seq"] and "I'm here" in hint["message"]
        assert [f["type"] for f in await nothing_more(alex)] == []  # Alex gets no card and no alert

    row = await database_sync_to_async(Alert.objects.get)(group=circle)
    assert (row.category, row.crisis_kind, row.source) == ("crisis", "suicide", "second_opinion")


async def test_a_message_edited_into_danger_is_read_again_and_brings_the_card(
    channel_layer, circle, member, facilitator, model_ready
):
    async with connected(member, circle.slug) as sam, connected(facilitator, circle.slug) as robin:
        await sam.send(send("edit-1", "long day, talk later"))
        seq = (await sam.receive_until("ack"))["message"]["seq"]
        await sam.send({"type": "edit", "seq": seq, "body": BODY_FAILING})
        card = await sam.receive_until("crisis_resources", timeout=WITHIN)
        assert card["kind"] == "medical"
        alert = (await robin.receive_until("crisis_alert", timeout=WITHIN))["alert"]
        assert alert["message"]["body"] == BODY_FAILING


async def test_danger_at_home_gets_the_emergency_number_first_and_a_quick_exit(
    channel_layer, circle, member, model_ready
):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("home-1", DANGER_AT_HOME))
        card = await sam.receive_until("crisis_resources", timeout=WITHIN)
    assert card["kind"] == "danger_at_home" and card["quick_exit"] is True
    assert card["resources"][0]["name"] == "Emergency services"
    assert card["resources"][1]["name"] == "Domestic abuse support"


async def test_medical_danger_says_to_get_urgent_medical_care(channel_layer, circle, member, model_ready):
    async with connected(member, circle.slug) as sam:
        await sam.send(send("body-1", BODY_FAILING))
        card = await sam.receive_until("crisis_resources", timeout=WITHIN)
    assert card["kind"] == "medical"
    assert "urgent medical care" in card["message"]
    assert card["resources"][0]["name"].startswith("Urgent medical care")


async def test_a_possible_crisis_is_a_quiet_please_look_for_the_facilitators_and_nothing_for_the_member(
    channel_layer, circle, member, facilitator, model_ready
):
    async with connected(member, circle.slug) as sam, connected(facilitator, circle.slug) as robin:
        await sam.send(send("maybe-1", MAYBE))
        await sam.receive_until("ack")
        item = (await robin.receive_until("queue_item", timeout=WITHIN))["item"]
        assert (item["kind"], item["category"], item["source"]) == ("alert", "possible_crisis", "second_opinion")
        assert item["message"]["body"] == MAYBE
        later = {f["type"] for f in await nothing_more(sam, timeout=0.5)}
        assert not {"crisis_resources", "follow_up", "notice"} & later  # the member sees nothing
    row = await database_sync_to_async(Alert.objects.get)(group=circle)
    assert not row.is_crisis and row.urgency == 1


async def test_judgment_the_engine_missed_gets_a_private_kind_follow_up_with_an_edit_option(
    channel_layer, circle, member, second_member, facilitator, model_ready
):
    async with (
        connected(member, circle.slug) as sam,
        connected(second_member, circle.slug) as alex,
    ):
        await sam.send(send("roll-1", EYE_ROLL))
        ack = await sam.receive_until("ack")
        follow = await sam.receive_until("follow_up", timeout=WITHIN)
        assert follow["seq"] == ack["message"]["seq"]
        assert follow["agreement"]["number"] is not None and "edit it" in follow["message"]
        await alex.receive_until("message")
        assert [f["type"] for f in await nothing_more(alex)] == []  # nobody else is told
    entry = await database_sync_to_async(AuditEntry.objects.get)(kind="moderation.message.followed_up")
    assert entry.target_id == member.pk


async def test_an_everyday_message_brings_nothing_more(channel_layer, circle, member, facilitator, model_ready):
    async with connected(member, circle.slug) as sam, connected(facilitator, circle.slug) as robin:
        await sam.send(send("walk-1", "had a lovely walk with my dog today, the sun was out"))
        await sam.receive_until("ack")
        await robin.receive_until("message")
        later = [f["type"] for f in await nothing_more(sam, timeout=1.0)] + [
            f["type"] for f in await nothing_more(robin, timeout=0.5)
        ]
        assert not {"follow_up", "crisis_resources", "crisis_alert", "queue_item", "peer_hint"} & set(later)
    assert not await database_sync_to_async(Alert.objects.exists)()


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


async def test_under_overload_the_message_still_posts_at_once_and_the_shed_is_counted(
    channel_layer, circle, member, tmp_path
):
    lines = _Lines()
    logging.getLogger("supportcircle.second_opinion").addHandler(lines)
    gate = tmp_path / "gate"  # the child holds its first job until the file is there: it is busy
    busy = SecondOpinionWorker(partial(work.held_then_failing, str(gate)), max_queue=1, warm_up=None).start()
    old = follow_up.use_worker(busy)
    shed_before = metrics.SECOND_OPINION_SHED._value.get()
    try:
        async with connected(member, circle.slug) as sam:
            for number in range(4):
                await sam.send(send(f"busy-{number}", f"just checking in, number {number}"))
                ack = await sam.receive_until("ack")
                assert ack["message"]["state"] == "visible"
        assert metrics.SECOND_OPINION_SHED._value.get() - shed_before >= 2
        assert busy.metrics()["shed"] >= 2
        assert sum("shedding new messages" in line for line in lines.lines) == 1  # one line an episode
        assert await database_sync_to_async(Message.objects.filter(group=circle).count)() == 4
    finally:
        logging.getLogger("supportcircle.second_opinion").removeHandler(lines)
        gate.touch()
        follow_up.use_worker(old)
        busy.close(wait=False)


def test_an_operator_sees_the_queue_depth_and_the_shed_count_in_metrics(settings, model_ready):
    from django.test import Client

    settings.METRICS_TOKEN = ""
    text = Client().get("/metrics").content.decode()
    assert "supportcircle_second_opinion_queue_depth " in text
    assert "supportcircle_second_opinion_shed_total " in text
    assert "supportcircle_second_opinion_restarts " in text


@pytest.mark.django_db
def test_handing_a_message_to_the_second_opinion_adds_no_statement_to_the_send_path(
    circle, member, django_capture_on_commit_callbacks
):
    """The hook runs after commit on the posting thread: it reads what the seat already holds and puts
    the message on the worker's queue, so the send path keeps its statements (tests/chat/test_send.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat.actions import post_message

    old = follow_up.use_worker(SecondOpinionWorker(work.read, warm_up=None))
    try:
        post_message(member.pk, circle.pk, client_id="warm-up", body="Hello")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            post_message(member.pk, circle.pk, client_id="counted", body="Thank you all")
        with CaptureQueriesContext(connection) as queries:
            for callback in callbacks:
                callback()
        assert queries.captured_queries == []
        assert follow_up.worker().metrics()["submitted"] >= 1
    finally:
        follow_up.use_worker(old).close(wait=False)


@pytest.mark.django_db
def test_an_answer_that_adds_nothing_for_the_group_is_acted_on_without_a_query(circle, member):
    """Most answers name nothing the group's rule sets cover, or only what the engine already found:
    deciding so reads nothing, since the courier thread answers every message in the process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from moderation.second_opinion import Opinion, Scores

    QUIET = "long day, talk later"  # nothing the phrase engine flags
    judgment = Opinion(("judgment",), None, "suicide", Scores({"judgment": 0.99}, 0.0, {}))
    message = Message.objects.create(group=circle, author=member, seq=1, client_id="c-1", body=QUIET)

    def posted(rulesets):
        return follow_up.Posted(message.pk, circle.pk, member.pk, 1, QUIET, rulesets, (), False, None)

    with CaptureQueriesContext(connection) as queries:
        follow_up.act_on_opinion(posted(("crisis",)), judgment)  # judgment is no rule set of this group's
    assert queries.captured_queries == []
    assert not AuditEntry.objects.filter(kind="moderation.message.followed_up").exists()

    follow_up.act_on_opinion(posted(("crisis", "curiosity")), judgment)  # it is one of this group's
    assert AuditEntry.objects.filter(kind="moderation.message.followed_up").exists()
