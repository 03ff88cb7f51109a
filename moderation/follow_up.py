"""The second opinion on the live send path: a moment after a message posted, what it brings.

The chat calls :func:`ask_second_opinion` once a message's transaction has committed
(chat.extensions.after_posted). It only puts the message on the process's bounded worker
(second_opinion.worker, whose child process runs the model) and returns: delivery never waits for
it. Under overload the worker sheds the message (one log line an episode;
``supportcircle_second_opinion_shed_total`` counts) and the phrase engine's decision stands alone.

When the answer comes (on the worker's courier thread, usually within tens of milliseconds), the whole
decision (``combine``) is acted on as docs/moderation.md, "Outcomes", says:

- crisis, confident, that the engine missed: the author gets the card for its kind, the group's
  other members a gentle hint, the facilitators a crisis alert (crisis-first);
- crisis, possible: a quiet "please look" alert, facilitators only;
- another category only the second opinion found: a private, kind follow-up to the author with an
  edit option, and, where the group holds or blocks that category (or asked to be alerted), a quiet
  queue item for the facilitators.
"""

from __future__ import annotations

import atexit
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import transaction

from chat.extensions import after_posted
from chat.models import Message, MessageState
from groups.models import Group, Role
from supportcircle import metrics, realtime
from supportcircle.http import close_this_threads_connections

from .engine import DEFAULT_ACTIONS, DEFAULT_AGREEMENTS, Action
from .models import POSSIBLE_CRISIS
from .records import audit, cite
from .review import engine_for, policy_for, raise_alert, raise_crisis_alert
from .second_opinion import CONFIDENT, POSSIBLE, Opinion, combine
from .second_opinion.worker import SecondOpinionWorker

log = logging.getLogger(__name__)

_worker: SecondOpinionWorker | None = None
_worker_lock = threading.Lock()
# Messages handed on whose answer has not been acted on yet (wait_until_answered).
_unanswered = 0
_answers = threading.Condition()


def worker() -> SecondOpinionWorker:
    """The process's one second-opinion worker, started on first use (its child process loads the model)."""
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                _worker = SecondOpinionWorker().start()
                # At exit, let the child answer what is queued (a short command that posted messages,
                # such as seed_demo, still gets their follow-ups), then end it.
                atexit.register(_worker.close, wait=True, timeout=30.0)
                metrics.gauge_read_at_scrape(
                    "supportcircle_second_opinion_queue_depth",
                    "Messages waiting for a second opinion in the process that answers.",
                    lambda: _worker.metrics()["queued"],
                )
                metrics.gauge_read_at_scrape(
                    "supportcircle_second_opinion_restarts",
                    "Times the answering process's second-opinion child was started again after it ended.",
                    lambda: _worker.metrics()["restarts"],
                )
    return _worker


def use_worker(chosen: SecondOpinionWorker | None) -> SecondOpinionWorker | None:
    """Replace the process's worker (tests force overload at this boundary); returns the old one."""
    global _worker, _unanswered
    with _worker_lock:
        old, _worker = _worker, chosen
    with _answers:
        _unanswered = 0  # the old worker's answers are no longer waited for
        _answers.notify_all()
    return old


@dataclass(frozen=True)
class Posted:
    """What the answer needs about the message, read before it leaves the posting thread."""

    message_id: int
    group_id: int
    author_id: int
    seq: int
    body: str  # the words the second opinion reads
    rulesets: tuple[str, ...]
    engine_categories: tuple[str, ...]
    by_facilitator: bool
    loop: object  # the server's event loop, for sending the outcome (None outside a server)


@after_posted
def ask_second_opinion(message: Message, seat, review) -> None:
    """Hand a committed message to the second opinion. Never blocks, never raises."""
    if "crisis" in review.categories:
        return  # the card and the alert went out with the message already
    try:
        posted = Posted(
            message_id=message.pk,
            group_id=message.group_id,
            author_id=message.author_id,
            seq=message.seq,
            body=message.body,
            rulesets=tuple(seat.group.rulesets),
            engine_categories=tuple(review.categories),
            by_facilitator=seat.role == Role.FACILITATOR,
            loop=realtime.server_loop(),
        )
        _count_unanswered(+1)
        future = worker().submit(message.body, callback=lambda done: _answered(done, posted))
    except Exception:
        _count_unanswered(-1)
        log.exception("second opinion: message %s could not be handed on; the engine's decision stands", message.pk)
        return
    if future is None:
        _count_unanswered(-1)
        metrics.SECOND_OPINION_SHED.inc()


def _count_unanswered(change: int) -> None:
    global _unanswered
    with _answers:
        _unanswered = max(0, _unanswered + change)
        if not _unanswered:
            _answers.notify_all()


def wait_until_answered(timeout: float = 30.0) -> bool:
    """Wait until every message handed on so far has had its answer acted on; True if none is left
    (a test's database is emptied only after the answers it caused have written their rows)."""
    with _answers:
        return _answers.wait_for(lambda: not _unanswered, timeout)


def _answered(future: Future, posted: Posted) -> None:
    """On the worker's courier thread, once the model (in the worker's child process) has answered."""
    try:
        if future.cancelled() or future.exception() is not None:
            return  # the worker logged it; the engine's decision stands
        opinion: Opinion = future.result()
        if not opinion.categories and opinion.crisis_tier is None:
            return  # nothing to add: no database, no frame
        try:
            with realtime.sending_through(posted.loop):
                act_on_opinion(posted, opinion)
        except Exception:
            log.exception("second opinion: acting on message %s failed", posted.message_id)
        finally:
            close_this_threads_connections()
    finally:
        _count_unanswered(-1)


def act_on_opinion(posted: Posted, opinion: Opinion) -> None:
    """Carry out what the whole decision adds to the engine's (see the module's docstring).

    The decision is taken on the words the second opinion read, before anything is read from the
    database: most answers add nothing for this group (a category of a rule set it does not run, one
    the engine already found), and those cost no query. An edit is read again as a new message is."""
    engine = engine_for(posted.rulesets)
    verdict = engine.check(posted.body)
    decision = combine(posted.body, verdict, opinion, engine)
    added = [category for category in decision.added_by_second_opinion if category != "crisis"]
    if decision.crisis_tier is None and (not added or posted.by_facilitator):
        return
    message = Message.objects.select_related("author", "group").filter(pk=posted.message_id).first()
    if message is None or message.state not in (MessageState.VISIBLE, MessageState.HELD) or message.author is None:
        return  # removed or hidden meanwhile: nothing to follow up
    group: Group = message.group
    policy = policy_for(group) if added else None
    with transaction.atomic():
        if decision.crisis_tier == CONFIDENT and "crisis" in decision.added_by_second_opinion:
            raise_crisis_alert(message, message.author, kind=decision.crisis_kind, source="second_opinion")
            return
        if decision.crisis_tier == POSSIBLE:
            raise_alert(
                message, message.author, category=POSSIBLE_CRISIS, kind=decision.crisis_kind, source="second_opinion"
            )
        if not added or posted.by_facilitator or message.state != MessageState.VISIBLE:
            return
        category = added[0]
        agreement = next(a for a in DEFAULT_AGREEMENTS if category in a.categories and a.ruleset in engine.rulesets)
        cited = cite(group, agreement.key)
        audit(group.pk, "moderation.message.followed_up", target_id=message.author_id, message=message, cited=cited)
        realtime.on_commit_private(message.author_id, group.pk, follow_up_frame(message, cited, verdict.suggestion))
        if Action(policy.get(category, DEFAULT_ACTIONS[category])) in (Action.HOLD, Action.BLOCK, Action.ALERT):
            raise_alert(message, message.author, category=category, source="second_opinion", cited=cited)


def follow_up_frame(message: Message, cited, suggestion: str | None) -> dict:
    """A private, kind word to the author after their message posted (docs/protocol.md, ``follow_up``)."""
    return {
        "type": "follow_up",
        "seq": message.seq,
        "agreement": cited.to_wire(),
        "reason": cited.reason,
        "suggestion": suggestion,
        "message": (
            f"Your message is with the group. Looking again, it may brush against {cited.label}. "
            "If you'd like, you can edit it; only you see this note."
        ),
    }
