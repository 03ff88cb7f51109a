"""Reviewing an outgoing message: what moderation decides before a message is stored (``review_outgoing``),
and records after (``record_decision``). The chat asks through the reviewer registered in
ModerationConfig.ready (chat.extensions), inside ``chat.actions.post_message``."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from chat.errors import ChatRefused
from chat.extensions import Reviewer
from chat.models import Message, MessageState
from chat.protocol import ErrorCode, NoticeCode
from chat.seat import SeatColumn
from groups.models import (
    Group,
    Membership,
    MembershipState,
    Role,
    wants_to_be_heard,
)
from supportcircle import realtime
from supportcircle.accounts.models import User
from supportcircle.plain_sql import column, db_time, table

from . import crisis
from .engine import RULESET_NAMES, Action, Engine, get_engine
from .models import POSSIBLE_CRISIS, Alert, ModerationPolicy, TimeOut
from .queue import alert_item, crisis_alert_frame, held_item, queue_frame
from .records import Cited, active_time_out, audit, cite, notice
from .signals import alert_raised

# Engine content-warning names that differ from groups.models.ContentLabel values.
_LABELS = {"self-harm": "self_harm", "numbers": "food", "diet": "food"}
_ENGINE_BUILD = threading.Lock()
log = logging.getLogger(__name__)


# --- Reviewing an outgoing message ------------------------------------------------------------


def engine_for(rulesets) -> Engine:
    """The shared engine for a group's rule sets. Protect always: the crisis rule set runs in every group."""
    chosen = {"crisis", *rulesets}
    with _ENGINE_BUILD:  # a warm-up at connect and a first message wait for one build, not two
        return get_engine(tuple(name for name in RULESET_NAMES if name in chosen))


def is_crisis(group: Group, body: str) -> bool:
    """True when the message carries crisis language (the crisis rule set runs in every group)."""
    return "crisis" in engine_for(group.rulesets).check(body).categories


def policy_for(group: Group) -> dict[str, Action]:
    policy = ModerationPolicy.objects.filter(group=group).first()
    return policy.action_map() if policy else ModerationPolicy(group=group).action_map()


@dataclass
class Decision:
    """What moderation does with one outgoing message."""

    action: Action
    categories: tuple[str, ...] = ()
    cited: Cited | None = None
    suggestion: str | None = None
    post_anyway: bool = False
    # The private frame the author gets instead of an ack (a nudge or a block): nothing is stored.
    withheld: dict | None = None
    # How the message is stored: held for review, or collapsed behind this content warning.
    state: str = MessageState.VISIBLE
    content_warning: str = ""

    @property
    def broadcasts(self) -> bool:
        return self.state != MessageState.HELD

    @property
    def has_consequences(self) -> bool:
        """Whether storing the message writes more than the message (``record_decision``): an audit row,
        an alert, a queue item; then they are stored together, in one transaction."""
        return self.action != Action.ALLOW and self.cited is not None


ALLOWED = Decision(Action.ALLOW)


_UNREAD = object()


def review_outgoing(
    membership: Membership,
    body: str,
    *,
    client_id: str,
    reply_to: Message | None = None,
    post_anyway: bool = False,
    content_warning: str | None = None,
    time_out_until=_UNREAD,
    tentative: bool = False,
) -> Decision:
    """Check a message against the group's rule sets before it is stored.

    A member on a time-out is told until when. A nudge or a block comes back as a private frame
    (``Decision.withheld``) and nothing is posted; everything else says how to store the message.
    No query for a message that touches no agreement when the caller has read the time-out
    (``time_out_until``, None for none) with the membership; one otherwise. ``tentative``: the chat decides
    on a seat kept from the author's last send, and decides a message kept back again on a fresh read:
    the nudge or block is written to the audit log then, once.
    """
    group = membership.group
    if time_out_until is _UNREAD:
        time_out = active_time_out(membership.user_id, group.pk)
        time_out_until = time_out.until if time_out else None
    if time_out_until is not None and not is_crisis(group, body):  # crisis is answered, time-out or not
        seconds = max(1, int((time_out_until - timezone.now()).total_seconds()))
        raise ChatRefused(
            ErrorCode.TIMED_OUT,
            message=(
                f"A facilitator has asked you to pause posting until {time_out_until:%H:%M} UTC. "
                "You can keep reading, and your words are still in the box."
            ),
            until=time_out_until.isoformat(),
            retry_after=seconds,
        )
    engine = engine_for(group.rulesets)
    wants_no_advice = False
    if reply_to is not None and reply_to.author_id and "no_advice" in group.rulesets:
        wants_no_advice = wants_to_be_heard(reply_to.author)
    verdict = engine.check(body, recipient_wants_no_advice=wants_no_advice)
    if verdict.is_clean:
        return ALLOWED
    policy = policy_for(group)
    action = engine.action_for(verdict, policy)
    if membership.role == Role.FACILITATOR and action not in (Action.RESOURCES, Action.ALERT):
        # Facilitators name the agreements all the time ("please no numbers like 'I weigh…'").
        return Decision(Action.ALLOW, categories=verdict.categories)
    # The agreement cited is the one whose category decided the action.
    deciding = next(
        (m for m in verdict.matches if policy.get(m.category) == action or m.category == "crisis"),
        verdict.matches[0],
    )
    cited = cite(group, deciding.agreement_key)
    decision = Decision(
        action,
        categories=verdict.categories,
        cited=cited,
        suggestion=verdict.suggestion,
        post_anyway=post_anyway,
    )
    if action == Action.NUDGE and not post_anyway:
        decision.withheld = {
            "type": "nudge",
            "ref": client_id,
            "agreement": cited.to_wire(),
            "reason": cited.reason,
            "suggestion": verdict.suggestion,
            "message": (
                f"Before this goes to the group: it may brush against {cited.label}. "
                "You can edit it (there's a suggestion below), or post it as it is."
            ),
        }
        if not tentative:
            audit(group.pk, "moderation.message.nudged", target_id=membership.user_id, cited=cited)
    elif action == Action.BLOCK:
        decision.withheld = {
            "type": "error",
            "code": ErrorCode.BLOCKED_BY_AGREEMENT.value,
            "ref": client_id,
            "agreement": cited.to_wire(),
            "message": (
                f"This message wasn't posted because of {cited.label}. {cited.reason} "
                "Your words are still in the box if you'd like to say it another way."
            ).replace("  ", " "),
        }
        if not tentative:
            audit(group.pk, "moderation.message.blocked", target_id=membership.user_id, cited=cited)
    elif action == Action.HOLD:
        decision.state = MessageState.HELD
    if decision.withheld is None and "crisis" not in verdict.categories and not content_warning:
        # A collapse never stands in for an agreement that asks more (a nudge, a hold): that comes
        # first, and the content warning is added to whatever then posts ("only 1200 calories and
        # I skipped dessert" is nudged for numbers, and collapses behind "food" if posted anyway).
        label = cited.content_warning if action == Action.COLLAPSE else engine.content_warning_for(verdict, policy)
        label = label or (deciding.category if action == Action.COLLAPSE else "")
        decision.content_warning = _LABELS.get(label, label)[:32]
    return decision


def review_edit(membership: Membership, message: Message, body: str) -> Decision:
    """An edit is checked like a new message. What a nudge, a hold or a block would keep back is refused
    and the message stays as it was (an edit has no "post anyway"); crisis words still bring help at once."""
    decision = review_outgoing(membership, body, client_id=message.client_id)
    if decision.withheld is not None or decision.state == MessageState.HELD:
        raise ChatRefused(
            ErrorCode.BLOCKED_BY_AGREEMENT,
            message=(
                f"This change wasn't saved: it may brush against {decision.cited.label}. "
                "Your message stays as it was; you're welcome to word it another way."
            ),
            agreement=decision.cited.to_wire(),
        )
    if decision.content_warning and not message.content_warning:
        message.content_warning = decision.content_warning
    return decision


def record_decision(decision: Decision, message: Message, membership: Membership) -> None:
    """After a reviewed message is stored: the audit row, and who is told (after commit)."""
    if not decision.has_consequences:
        return
    group_id, author = message.group_id, membership.user
    about = {"target_id": author.pk, "message": message, "cited": decision.cited}
    if decision.action == Action.NUDGE:
        audit(group_id, "moderation.message.posted_after_nudge", **about)
    elif decision.action == Action.COLLAPSE:
        audit(group_id, "moderation.message.collapsed", **about, note=message.content_warning)
    elif decision.action == Action.HOLD:
        audit(group_id, "moderation.message.held", **about)
        realtime.on_commit_private(
            author.pk,
            group_id,
            notice(
                NoticeCode.HELD_FOR_REVIEW,
                f"Thank you. Your message is waiting for a facilitator to read it, because of "
                f"{decision.cited.label}. Only you can see it until then; we'll let you know.",
                ref=message.client_id,
                seq=message.seq,
                agreement=decision.cited.to_wire(),
            ),
        )
        realtime.on_commit_to_facilitators(group_id, queue_frame(held_item(message, decision.cited)))
    elif decision.action in (Action.RESOURCES, Action.ALERT):
        _raise_alert(decision, message, author)


def _raise_alert(decision: Decision, message: Message, author: User) -> None:
    if "crisis" in decision.categories:
        raise_crisis_alert(message, author, cited=decision.cited)
    else:
        raise_alert(message, author, category=decision.categories[0], cited=decision.cited)


def raise_crisis_alert(
    message: Message, author: User, *, kind: str | None = None, source: str = "engine", cited: Cited | None = None
) -> Alert:
    """A member may be in danger: they get the card for its kind (``moderation.crisis``), the group's
    other members a gentle hint how to answer kindly, the facilitators a crisis alert, crisis-first.
    All after commit."""
    kind = kind if kind in crisis.KINDS else crisis.SUICIDE
    resources = crisis.resources_for(kind)
    alert = raise_alert(message, author, category="crisis", kind=kind, source=source, cited=cited, resources=resources)
    realtime.on_commit_private(author.pk, message.group_id, crisis.crisis_resources_frame(kind, resources))
    if message.state == MessageState.VISIBLE:
        hint = realtime.frame_event(crisis.peer_hint_frame(message.seq), about=(author.pk,), echo=False)
        realtime.on_commit_send(realtime.group_channel(message.group_id), hint)
    return alert


def raise_alert(
    message: Message | None,
    member: User,
    *,
    category: str,
    group_id: int | None = None,
    kind: str = "",
    source: str = "engine",
    cited: Cited | None = None,
    resources: list[dict] | None = None,
    note: str = "",
    raised_by: User | None = None,
) -> Alert:
    """The one way an alert reaches the facilitators (stored, audited, sent after commit): a crisis or a
    peer's worry as ``crisis_alert`` (crisis-first), anything else as a quiet ``queue_item``."""
    group_id = group_id if group_id is not None else message.group_id
    alert = Alert.objects.create(
        group_id=group_id,
        member=member,
        message=message,
        category=category,
        crisis_kind=kind or "",
        source=source,
        resources_shown=resources or [],
        raised_by=raised_by,
    )
    kinds = {"crisis": "moderation.crisis.alerted", "worried": "moderation.worry.raised"}
    audit_kind = kinds.get(category, f"moderation.{category}.alerted" if category == POSSIBLE_CRISIS else "")
    audit(
        group_id,
        audit_kind or "moderation.message.alerted",
        actor=raised_by,
        target_id=member.pk,
        message=message,
        cited=cited,
        note=note or (f"{source}: {kind}" if kind else source),
    )
    has_active_facilitator = Membership.objects.filter(
        group_id=group_id, role=Role.FACILITATOR, state=MembershipState.ACTIVE
    ).exists()
    # In this transaction: the safeguarding rota (an app above) opens its case with the alert, or neither is stored.
    alert_raised.send(sender=Alert, alert=alert, has_active_facilitator=has_active_facilitator)
    if alert.is_crisis:
        if not has_active_facilitator:
            # Nobody is there to follow it up (a facilitator on a break counts as away, as when
            # leaving: their notifications pause). The safeguarding rota is paged at once; the logs
            # say so too, by number only (docs/operations.md, "Warnings to act on").
            transaction.on_commit(functools.partial(_tell_operators_nobody_was_alerted, alert.pk, group_id))
        realtime.on_commit_to_facilitators(group_id, crisis_alert_frame(alert))
    else:
        realtime.on_commit_to_facilitators(group_id, queue_frame(alert_item(alert)))
    return alert


def _tell_operators_nobody_was_alerted(alert_id: int, group_id: int) -> None:
    log.warning("crisis alert %s in group %s: the group has no active facilitator to follow it up", alert_id, group_id)


@functools.cache
def _time_out_sql() -> str:
    """The seat's time-out column, written once per process (every message reads it)."""
    until = column(TimeOut, "until", "t")
    return (
        f"SELECT MAX({until}) FROM {table(TimeOut)} t "  # noqa: S608  # nosec B608: names from meta
        f"WHERE {column(TimeOut, 'group', 't')} = {{group_id}} AND {column(TimeOut, 'user', 't')} = {{user_id}} "
        f"AND {until} > %s"
    )


class ModerationReviewer(Reviewer):
    """What the chat asks moderation about each outgoing message (registered in ModerationConfig.ready)."""

    def seat_columns(self, now) -> dict:
        # The latest time-out still running, if any (active_time_out's answer, read with the seat).
        return {"time_out_until": SeatColumn(_time_out_sql(), (db_time(now),), TimeOut._meta.get_field("until"))}

    def is_crisis(self, group, body: str) -> bool:
        return is_crisis(group, body)

    def review(
        self, seat, body: str, *, client_id: str, reply_to, post_anyway: bool, content_warning, tentative=False
    ) -> Decision:
        return review_outgoing(
            seat,
            body,
            client_id=client_id,
            reply_to=reply_to,
            post_anyway=post_anyway,
            content_warning=content_warning,
            time_out_until=getattr(seat, "time_out_until", _UNREAD),
            tentative=tentative,
        )

    def review_edit(self, seat, message, body: str) -> Decision:
        return review_edit(seat, message, body)

    def record(self, review: Decision, message, seat) -> None:
        record_decision(review, message, seat)

    def warm(self, rulesets: tuple[str, ...]) -> None:
        """Build the group's engine (a few seconds the first time in a process) on a worker thread at
        connect, so the first message is not kept waiting, nor the database threads every socket shares."""
        if rulesets in _WARMED:
            return  # built (or being built) already: no hop to a worker thread for each socket
        _WARMED.add(rulesets)
        from .follow_up import worker

        worker()  # the second opinion's child process starts and loads the model, before the first message
        asyncio.get_running_loop().run_in_executor(None, engine_for, rulesets)


_WARMED: set[tuple[str, ...]] = set()
