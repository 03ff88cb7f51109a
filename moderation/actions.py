"""Moderation state changes, one function each: guide first, protect always, punish last.

``review_outgoing`` runs inside ``chat.actions.post_message``'s transaction and decides what
happens to a message before it is stored. Every other function is something a member or a
facilitator does, called alike by the chat socket and by the pages. Each runs in one
transaction, writes an ``AuditEntry`` (never the words of a message) and tells open sockets
only after commit.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from chat import actions as chat_actions
from chat import broadcast
from chat.errors import ChatRefused
from chat.models import Message, MessageState
from chat.protocol import ErrorCode, NoticeCode, dumps
from groups.actions import ban_member, conversation_for, minutes_until_free, remove_member, require_facilitator
from groups.errors import MembershipError, NotAFacilitator
from groups.models import (
    SEATED_STATES,
    Agreement,
    DirectMessage,
    Group,
    Membership,
    MembershipState,
    Role,
    wants_to_be_heard,
)
from supportcircle import realtime
from supportcircle.accounts.models import User

from .engine import DEFAULT_AGREEMENTS, RULESET_NAMES, Action, Engine, get_engine
from .models import (
    REPAIR_PROMPTS,
    Alert,
    AuditEntry,
    MemberWarning,
    ModerationPolicy,
    RepairRequest,
    RepairState,
    Report,
    ReportReason,
    ReportState,
    TimeOut,
)

_DEFAULTS_BY_KEY = {agreement.key: agreement for agreement in DEFAULT_AGREEMENTS}
# Engine content-warning names that differ from groups.models.ContentLabel values.
_LABELS = {"self-harm": "self_harm", "numbers": "food", "diet": "food"}
MAX_TIME_OUT_MINUTES = 7 * 24 * 60
_ENGINE_BUILD = threading.Lock()
log = logging.getLogger(__name__)


class ModerationRefused(ChatRefused):
    """A moderation request that cannot be carried out; ``str()`` is safe to show the person.

    ``reason`` is a short code when it is refused for who is asking, logged by the view
    (``supportcircle.security.log_refusal``); never part of the error frame.
    """

    def __init__(self, text: str, code: ErrorCode = ErrorCode.NOT_ALLOWED, *, reason: str = "") -> None:
        super().__init__(code, message=text)
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        return self.text


# --- Citing agreements ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cited:
    """The group's own agreement that a check is about, as the group numbered it."""

    number: int | None
    text: str
    reason: str = ""
    content_warning: str = ""

    def to_wire(self) -> dict:
        return {"number": self.number, "text": self.text}

    @property
    def label(self) -> str:
        # Without its full stop, so "… because of {label}." reads as one sentence.
        text = self.text.rstrip(".")
        return f"Agreement {self.number}: {text}" if self.number else f"Our agreement: {text}"


def _cite(group: Group, rule_key: str) -> Cited:
    default = _DEFAULTS_BY_KEY.get(rule_key)
    agreement = (
        Agreement.objects.filter(group=group, version=group.agreement_version, rule_key=rule_key)
        .only("number", "text")
        .first()
    )
    reason = default.reason if default else ""
    warning = (default.content_warning or "") if default else ""
    if agreement is not None:
        return Cited(agreement.number, agreement.text, reason, warning)
    # The group runs the rule set but renumbered its agreements without this one: cite the default words.
    return Cited(None, default.text if default else "", reason, warning)


def cite_number(group: Group, number: int | None) -> Cited | None:
    """The group's current agreement with this number (a facilitator's choice), or None."""
    if number is None:
        return None
    agreement = group.agreements.filter(version=group.agreement_version, number=number).first()
    if agreement is None:
        raise ModerationRefused(
            f"The group's agreements don't have a number {number}. Please choose one from the list.",
            ErrorCode.INVALID_FIELD,
        )
    default = _DEFAULTS_BY_KEY.get(agreement.rule_key)
    return Cited(agreement.number, agreement.text, default.reason if default else "")


def _audit(
    group_id: int,
    kind: str,
    *,
    actor: User | None = None,
    target_id: int | None = None,
    message: Message | None = None,
    cited: Cited | None = None,
    note: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        group_id=group_id,
        actor=actor,
        kind=kind,
        target_id=target_id,
        message=message,
        agreement_number=cited.number if cited else None,
        agreement_text=cited.text if cited else "",
        note=note[:500],
    )


def _notice(code: NoticeCode, message: str, **extra) -> dict:
    return {"type": "notice", "code": code.value, "message": message, **extra}


def _person(user: User | None) -> dict:
    return {"id": user.pk if user else None, "pseudonym": user.pseudonym if user else "A former member"}


# --- Reviewing an outgoing message ------------------------------------------------------------


def engine_for(rulesets) -> Engine:
    """The shared engine for a group's rule sets. Protect always: the crisis rule set runs in every group."""
    chosen = {"crisis", *rulesets}
    with _ENGINE_BUILD:  # a warm-up at connect and a first message wait for one build, not two
        return get_engine(tuple(name for name in RULESET_NAMES if name in chosen))


def is_crisis(group: Group, body: str) -> bool:
    """True when the message carries crisis language (the crisis rule set runs in every group)."""
    return "crisis" in engine_for(group.rulesets).check(body).categories


def active_time_out(user_id: int, group_id: int) -> TimeOut | None:
    return TimeOut.objects.filter(group_id=group_id, user_id=user_id, until__gt=timezone.now()).first()


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
) -> Decision:
    """Check a message against the group's rule sets before it is stored.

    A member on a time-out is told until when. A nudge or a block comes back as a private frame
    (``Decision.withheld``) and nothing is posted; everything else says how to store the message.
    No query for a message that touches no agreement when the caller has read the time-out
    (``time_out_until``, None for none) with the membership; one otherwise.
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
    cited = _cite(group, deciding.agreement_key)
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
        _audit(group.pk, "moderation.message.nudged", target_id=membership.user_id, cited=cited)
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
        _audit(group.pk, "moderation.message.blocked", target_id=membership.user_id, cited=cited)
    elif action == Action.HOLD:
        decision.state = MessageState.HELD
    elif action == Action.COLLAPSE and not content_warning:
        label = cited.content_warning or deciding.category
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
    audit = {"target_id": author.pk, "message": message, "cited": decision.cited}
    if decision.action == Action.NUDGE:
        _audit(group_id, "moderation.message.posted_after_nudge", **audit)
    elif decision.action == Action.COLLAPSE:
        _audit(group_id, "moderation.message.collapsed", **audit, note=message.content_warning)
    elif decision.action == Action.HOLD:
        _audit(group_id, "moderation.message.held", **audit)
        realtime.on_commit_private(
            author.pk,
            group_id,
            _notice(
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
    is_crisis = "crisis" in decision.categories
    resources = list(settings.CRISIS_RESOURCES) if is_crisis else []
    alert = Alert.objects.create(
        group_id=message.group_id,
        member=author,
        message=message,
        category="crisis" if is_crisis else decision.categories[0],
        resources_shown=resources,
    )
    kind = "moderation.crisis.alerted" if is_crisis else "moderation.message.alerted"
    _audit(message.group_id, kind, target_id=author.pk, message=message, cited=decision.cited)
    if is_crisis:
        if not Membership.objects.filter(
            group_id=message.group_id, role=Role.FACILITATOR, state=MembershipState.ACTIVE
        ).exists():
            # Nobody is there to follow it up (a facilitator on a break counts as away, as when
            # leaving: their notifications pause). The operators are told, by number only
            # (docs/operations.md, "Warnings to act on").
            transaction.on_commit(functools.partial(_tell_operators_nobody_was_alerted, alert.pk, message.group_id))
        realtime.on_commit_private(author.pk, message.group_id, crisis_resources_frame(resources))
        realtime.on_commit_to_facilitators(message.group_id, crisis_alert_frame(alert))
    else:
        realtime.on_commit_to_facilitators(message.group_id, queue_frame(alert_item(alert)))


def _tell_operators_nobody_was_alerted(alert_id: int, group_id: int) -> None:
    log.warning("crisis alert %s in group %s: the group has no active facilitator to follow it up", alert_id, group_id)


def crisis_resources_frame(resources: list[dict]) -> dict:
    return {
        "type": "crisis_resources",
        "title": "You don't have to carry this alone",
        "message": (
            "Thank you for telling us. Your message is with the group, and a facilitator has been let know. "
            "If you might act on these thoughts, or you're not safe right now, please reach out to one of these now."
        ),
        "resources": resources,
    }


# --- Queue items --------------------------------------------------------------------------------


def queue_frame(item: dict) -> dict:
    return {"type": "queue_item", "item": item}


def _message_excerpt(message: Message | None) -> dict | None:
    if message is None:
        return None
    shown = message.state in (MessageState.VISIBLE, MessageState.HELD)
    return {"seq": message.seq, "body": message.body if shown else "", "state": message.state}


def held_item(message: Message, cited: Cited | None, state: str = "open") -> dict:
    return {
        "kind": "held",
        "id": message.pk,
        "state": state,
        "member": _person(message.author),
        "message": _message_excerpt(message),
        "agreement": cited.to_wire() if cited else None,
    }


def report_item(report: Report) -> dict:
    if report.is_private:
        # Only the reported private message, never the rest of the conversation; it has no seq.
        excerpt = {"seq": None, "body": report.direct_message.body, "state": MessageState.VISIBLE}
    else:
        excerpt = _message_excerpt(report.message)
    return {
        "kind": "report",
        "id": report.pk,
        "state": report.state,
        "private": report.is_private,
        "member": _person(report.reported_author),
        "reporter": _person(report.reporter),
        "reason": report.get_reason_display(),
        "note": report.note,
        "message": excerpt,
    }


def alert_item(alert: Alert) -> dict:
    return {
        "kind": "alert",
        "id": alert.pk,
        "state": "resolved" if alert.acknowledged_at else "open",
        "category": alert.category,
        "member": _person(alert.member),
        "message": _message_excerpt(alert.message),
        "created_at": alert.created_at.isoformat(),
        # The support lines the member was shown at that moment (the facilitator console lists them).
        "resources": alert.resources_shown,
    }


def repair_item(repair: RepairRequest) -> dict:
    return {
        "kind": "repair",
        "id": repair.pk,
        "state": "resolved" if repair.state == RepairState.ACCEPTED else "open",
        "member": _person(repair.member),
        "prompt": repair.prompt,
        "note": repair.note,
        "agreement_number": repair.agreement_number,
    }


def crisis_alert_frame(alert: Alert) -> dict:
    return {"type": "crisis_alert", "alert": alert_item(alert)}


@dataclass
class Queue:
    alerts: list[Alert]
    held: list[Message]
    reports: list[Report]
    repairs: list[RepairRequest]

    @property
    def is_empty(self) -> bool:
        return not (self.alerts or self.held or self.reports or self.repairs)


def open_queue(group: Group) -> Queue:
    """What is waiting for a facilitator in this group: crisis first."""
    alerts = list(
        Alert.objects.filter(group=group, acknowledged_at__isnull=True)
        .select_related("member", "message")
        .order_by("created_at")
    )
    alerts.sort(key=lambda alert: not alert.is_crisis)
    held = list(Message.objects.filter(group=group, state=MessageState.HELD).select_related("author").order_by("seq"))
    reports = list(
        Report.objects.filter(group=group, state=ReportState.OPEN)
        .select_related("message__author", "direct_message__author", "reporter")
        .order_by("created_at")
    )
    repairs = list(
        RepairRequest.objects.filter(group=group, state=RepairState.PENDING).select_related("member").order_by("id")
    )
    return Queue(alerts, held, reports, repairs)


def waiting_on_connect(user_id: int, group_id: int) -> list[str]:
    """Frames a socket gets on connect: for a facilitator, open alerts and the open queue, crisis first;
    for a member on a time-out, the notice saying until when."""
    membership = Membership.objects.select_related("group").filter(user_id=user_id, group_id=group_id).first()
    if membership is None or not membership.is_seated:
        return []
    if membership.role != Role.FACILITATOR:
        time_out = active_time_out(user_id, group_id)
        if time_out is None:
            return []
        group = membership.group
        return [dumps(_time_out_notice(time_out, group, cite_number(group, time_out.agreement_number)))]
    queue = open_queue(membership.group)
    frames = [crisis_alert_frame(a) if a.is_crisis else queue_frame(alert_item(a)) for a in queue.alerts]
    held_citations = {
        entry.message_id: Cited(entry.agreement_number, entry.agreement_text)
        for entry in AuditEntry.objects.filter(message__in=queue.held, kind="moderation.message.held")
    }
    frames += [queue_frame(held_item(m, held_citations.get(m.pk))) for m in queue.held]
    frames += [queue_frame(report_item(r)) for r in queue.reports]
    frames += [queue_frame(repair_item(r)) for r in queue.repairs]
    return [dumps(frame) for frame in frames]


def _cite_held(message: Message) -> Cited | None:
    entry = (
        AuditEntry.objects.filter(message=message, kind="moderation.message.held")
        .only("agreement_number", "agreement_text")
        .first()
    )
    return Cited(entry.agreement_number, entry.agreement_text) if entry else None


# --- Member actions -------------------------------------------------------------------------------


def _seated_membership(user_id: int, group_id: int) -> Membership:
    membership = Membership.objects.select_related("group", "user").filter(user_id=user_id, group_id=group_id).first()
    if membership is None or not membership.is_seated:
        raise ModerationRefused("That's only possible for members of this group.", reason="not_a_member")
    return membership


def _message_in(group_id: int, seq: int) -> Message:
    message = Message.objects.select_related("author").filter(group_id=group_id, seq=seq).first()
    if message is None or (message.state == MessageState.HELD):
        raise ModerationRefused("We couldn't find that message. It may have been removed.", ErrorCode.NOT_FOUND)
    return message


# Reports a person may send in an hour (chat and private messages together): enough for a hard
# evening, not enough to flood a facilitator's queue.
REPORTS_PER_HOUR = 10


def _check_report_pace(user_id: int) -> None:
    now = timezone.now()
    recent = Report.objects.filter(reporter_id=user_id, created_at__gte=now - timedelta(hours=1))
    wait = minutes_until_free(list(recent.values_list("created_at", flat=True)), now, per_hour=REPORTS_PER_HOUR)
    if wait:
        refused = ModerationRefused(
            "Thank you for looking out for the group. You've sent several reports in the last hour; the "
            f"facilitators have them all. You can send another in about {wait} minute{'s' if wait != 1 else ''}.",
            ErrorCode.RATE_LIMITED,
        )
        refused.extra["retry_after"] = wait * 60
        raise refused


def report_message(user_id: int, group_id: int, *, seq: int, reason: str, note: str = "") -> Report:
    """A member asks the facilitators to look at a message; they are thanked and will hear the outcome."""
    if reason not in ReportReason.values:
        raise ModerationRefused("Please choose one of the reasons in the list.", ErrorCode.INVALID_FIELD)
    _check_report_pace(user_id)
    with transaction.atomic():
        membership = _seated_membership(user_id, group_id)
        message = _message_in(group_id, seq)
        if message.author_id == user_id:
            raise ModerationRefused(
                "This is your own message. If you'd like to take it back, you can remove it yourself.",
                reason="own_message",
            )
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    group_id=group_id, message=message, reporter=membership.user, reason=reason, note=note.strip()[:500]
                )
        except IntegrityError:
            raise ModerationRefused(
                "You've already reported this message. The facilitators have it, and we'll tell you what happens."
            ) from None
        # No target: the row is in the reporter's data export, never in the reported person's. Facilitators
        # still read whose message it was through ``message``.
        _audit(group_id, "moderation.report.filed", actor=membership.user, message=message)
        realtime.on_commit_private(
            user_id,
            group_id,
            _notice(
                NoticeCode.REPORT_RECEIVED,
                "Thank you for telling us. The facilitators will look at it, and we'll let you know what they do. "
                "You can follow it on your reports page.",
                report=report.pk,
                seq=seq,
                link=reverse("moderation:my_reports"),
            ),
        )
        realtime.on_commit_to_facilitators(group_id, queue_frame(report_item(report)))
    return report


# --- Reporting a private message ----------------------------------------------------------------
#
# A private message is reported to the facilitators of one group the two people share, chosen by the
# reporter: one team answers it, with one outcome, and the message reaches as few readers as it can.


def shared_groups(first_id: int, second_id: int) -> list[Group]:
    """The groups both people sit in: whose facilitators a private message between them may be reported to."""
    theirs = Membership.objects.filter(user_id=second_id, state__in=SEATED_STATES).values("group_id")
    return list(
        Group.objects.filter(
            memberships__user_id=first_id, memberships__state__in=SEATED_STATES, pk__in=theirs
        ).order_by("name")
    )


def reportable_direct_message(reporter: User, conversation_id: int, direct_message_id: int) -> DirectMessage | None:
    """A message the other person wrote in a conversation the reporter is one of the two people in, else None.

    One's own message and a message in someone else's conversation are alike simply not found.
    """
    conversation = conversation_for(reporter, conversation_id)
    if conversation is None:
        return None
    return (
        DirectMessage.objects.select_related("author", "conversation")
        .filter(pk=direct_message_id, conversation=conversation)
        .exclude(author=reporter)
        .first()
    )


def report_direct_message(
    reporter: User, *, conversation_id: int, direct_message_id: int, group_id: int, reason: str, note: str = ""
) -> Report:
    """A member asks the facilitators of a group they share with the other person to read one private message.

    That message, and nothing else of the conversation, appears in that group's queue. The reporter
    is thanked and later told the outcome on their reports page; the other person is not told.
    Like a report in the chat, each message can be reported once by each person.
    """
    _check_report_pace(reporter.pk)
    if reason not in ReportReason.values:
        raise ModerationRefused("Please choose one of the reasons in the list.", ErrorCode.INVALID_FIELD)
    with transaction.atomic():
        direct_message = reportable_direct_message(reporter, conversation_id, direct_message_id)
        if direct_message is None:
            raise ModerationRefused("We couldn't find that message.", ErrorCode.NOT_FOUND)
        group = next((g for g in shared_groups(reporter.pk, direct_message.author_id) if g.pk == group_id), None)
        if group is None:
            raise ModerationRefused(
                "Please choose one of the groups you share with them: its facilitators will read it.",
                ErrorCode.INVALID_FIELD,
                reason="not_a_shared_group",
            )
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    group=group,
                    direct_message=direct_message,
                    reporter=reporter,
                    reason=reason,
                    note=note.strip()[:500],
                )
        except IntegrityError:
            raise ModerationRefused(
                "You've already reported this message. The facilitators have it, and we'll tell you what happens."
            ) from None
        # No target: the row is in the reporter's data export, never in the reported person's.
        _audit(group.pk, "moderation.direct_message.reported", actor=reporter)
        realtime.on_commit_to_facilitators(group.pk, queue_frame(report_item(report)))
    return report


def request_repair(
    member: User,
    group: Group,
    *,
    prompt: str,
    note: str = "",
    warning: MemberWarning | None = None,
    message: Message | None = None,
) -> RepairRequest:
    """A member who was warned or had a message hidden offers to repair; facilitators see it in the queue."""
    if prompt not in REPAIR_PROMPTS:
        raise ModerationRefused("Please choose one of the sentences offered.", ErrorCode.INVALID_FIELD)
    with transaction.atomic():
        _seated_membership(member.pk, group.pk)
        if warning is None and message is None:
            raise ModerationRefused("There's nothing waiting for repair in this group. Thank you for caring.")
        agreement_number = warning.agreement_number if warning else message.removed_agreement_number
        repair = RepairRequest.objects.create(
            group=group,
            member=member,
            prompt=prompt,
            note=note.strip()[:1000],
            warning=warning,
            message=message,
            agreement_number=agreement_number,
        )
        cited = Cited(agreement_number, warning.agreement_text if warning else "") if agreement_number else None
        _audit(group.pk, "moderation.repair.requested", actor=member, target_id=member.pk, message=message, cited=cited)
        realtime.on_commit_to_facilitators(group.pk, queue_frame(repair_item(repair)))
    return repair


def repair_invitations(member: User, group: Group) -> tuple[list[MemberWarning], list[Message]]:
    """Warnings and hidden messages this member has not yet offered repair for."""
    offered = RepairRequest.objects.filter(member=member, group=group)
    warnings = list(
        MemberWarning.objects.filter(member=member, group=group).exclude(
            pk__in=offered.exclude(warning=None).values("warning")
        )
    )
    hidden = list(
        Message.objects.filter(author=member, group=group, state=MessageState.REMOVED_UNDER_AGREEMENT).exclude(
            pk__in=offered.exclude(message=None).values("message")
        )
    )
    return warnings, hidden


# --- Facilitator actions ----------------------------------------------------------------------------


def _facilitating(actor: User, group: Group) -> Membership:
    try:
        return require_facilitator(actor, group)
    except NotAFacilitator:
        raise ModerationRefused(
            "Only this group's facilitators can do that.", ErrorCode.FACILITATORS_ONLY, reason="not_a_facilitator"
        ) from None


def _member_of(group: Group, user_id: int) -> Membership:
    membership = Membership.objects.select_related("user", "group").filter(group=group, user_id=user_id).first()
    if membership is None:
        raise ModerationRefused("That person isn't in this group.", ErrorCode.NOT_FOUND)
    if membership.role == Role.FACILITATOR:
        raise ModerationRefused(
            "Facilitators can't do this to each other here; please ask an administrator.",
            reason="facilitator_on_facilitator",
        )
    return membership


def _resolved_on_facilitators(group_id: int, item: dict) -> None:
    realtime.on_commit_to_facilitators(group_id, queue_frame({**item, "state": "resolved"}))


def _repair_url(group: Group) -> str:
    return reverse("moderation:repair", args=[group.slug])


def approve_message(actor: User, group: Group, *, seq: int) -> Message:
    """A held message joins the conversation; its author is told."""
    with transaction.atomic():
        _facilitating(actor, group)
        message = Message.objects.select_for_update().filter(group=group, seq=seq, state=MessageState.HELD).first()
        if message is None:
            raise ModerationRefused("That message isn't waiting for review any more.", ErrorCode.NOT_FOUND)
        message.state = MessageState.VISIBLE
        message.save(update_fields=["state"])
        cited = _cite_held(message)
        _audit(group.pk, "moderation.message.approved", actor=actor, target_id=message.author_id, message=message)
        # Nobody else has seen it yet: it arrives as a new message, in its place in the sequence.
        wire = chat_actions._with_author_boundaries(message.to_wire(), message.author)
        frame = dumps({"type": "message", "message": wire})
        broadcast.on_commit_message(
            group.pk, seq=message.seq, author_id=message.author_id, frame=frame, content_warning=message.content_warning
        )
        if message.author_id:
            realtime.on_commit_private(
                message.author_id,
                group.pk,
                _notice(
                    NoticeCode.MESSAGE_APPROVED,
                    "A facilitator read your message and it's now with the group. Thank you for your patience.",
                    seq=seq,
                ),
            )
        _resolved_on_facilitators(group.pk, held_item(message, cited))
    return message


def hide_message(actor: User, group: Group, *, seq: int, agreement_number: int, note: str = "") -> Message:
    """The message is removed under an agreement: everyone sees only "removed under agreement N", now and in history."""
    with transaction.atomic():
        _facilitating(actor, group)
        cited = cite_number(group, agreement_number)
        message = Message.objects.select_for_update().filter(group=group, seq=seq).first()
        if message is None or message.state == MessageState.REMOVED_BY_AUTHOR:
            raise ModerationRefused("We couldn't find that message. It may have been removed.", ErrorCode.NOT_FOUND)
        was_held = message.state == MessageState.HELD
        message.state = MessageState.REMOVED_UNDER_AGREEMENT
        message.removed_agreement_number = cited.number
        message.save(update_fields=["state", "removed_agreement_number"])
        _audit(
            group.pk,
            "moderation.message.hidden",
            actor=actor,
            target_id=message.author_id,
            message=message,
            cited=cited,
            note=note,
        )
        chat_actions.broadcast_updated(message)  # the tombstone replaces the words on every open socket
        if message.author_id:
            realtime.on_commit_private(
                message.author_id,
                group.pk,
                _notice(
                    NoticeCode.MESSAGE_HIDDEN,
                    f"A facilitator removed one of your messages under {cited.label}. "
                    "Everyone gets things wrong sometimes; if you'd like to repair, you can.",
                    seq=seq,
                    agreement=cited.to_wire(),
                    link=_repair_url(group),
                ),
            )
        if was_held:
            _resolved_on_facilitators(group.pk, held_item(message, cited))
        _resolve_reports_of(message, actor, f"A facilitator removed the message under {cited.label}.")
    return message


def _resolve_reports_of(message: Message, actor: User, outcome: str) -> None:
    for report in Report.objects.filter(message=message, state=ReportState.OPEN).select_related("reporter"):
        _resolve(report, actor, outcome)


def warn_member(
    actor: User, group: Group, *, user_id: int, agreement_number: int, note: str = "", seq: int | None = None
) -> MemberWarning:
    """A private, kind word to a member that cites an agreement and invites repair."""
    with transaction.atomic():
        _facilitating(actor, group)
        target = _member_of(group, user_id)
        cited = cite_number(group, agreement_number)
        message = Message.objects.filter(group=group, seq=seq).first() if seq else None
        warning = MemberWarning.objects.create(
            group=group,
            member=target.user,
            message=message,
            agreement_number=cited.number,
            agreement_text=cited.text,
            note=note.strip()[:500],
            given_by=actor,
        )
        _audit(
            group.pk,
            "moderation.member.warned",
            actor=actor,
            target_id=user_id,
            message=message,
            cited=cited,
            note=note,
        )
        text = f"A facilitator would like to gently remind you of {cited.label}."
        if note.strip():
            text += f" They said: “{note.strip()}”"
        text += " You're still welcome here. If you'd like to repair, there are some words that can help."
        realtime.on_commit_private(
            user_id, group.pk, _notice(NoticeCode.WARNING, text, agreement=cited.to_wire(), link=_repair_url(group))
        )
    return warning


def time_out_member(
    actor: User, group: Group, *, user_id: int, minutes: int, agreement_number: int | None = None, note: str = ""
) -> TimeOut:
    """The member can read but not post for a while; their open chat says until when, at once."""
    if not 1 <= minutes <= MAX_TIME_OUT_MINUTES:
        raise ModerationRefused("A time-out is between one minute and one week.", ErrorCode.INVALID_FIELD)
    with transaction.atomic():
        _facilitating(actor, group)
        _member_of(group, user_id)
        cited = cite_number(group, agreement_number)
        until = timezone.now() + timedelta(minutes=minutes)
        time_out = TimeOut.objects.create(
            group=group,
            user_id=user_id,
            until=until,
            reason=note.strip()[:500],
            agreement_number=cited.number if cited else None,
            given_by=actor,
        )
        _audit(
            group.pk,
            "moderation.member.timed_out",
            actor=actor,
            target_id=user_id,
            cited=cited,
            note=f"{minutes} minutes. {note}".strip(),
        )
        realtime.on_commit_private(user_id, group.pk, _time_out_notice(time_out, group, cited))
    return time_out


def _time_out_notice(time_out: TimeOut, group: Group, cited: Cited | None) -> dict:
    about = f" because of {cited.label}" if cited else ""
    return _notice(
        NoticeCode.TIMED_OUT,
        f"A facilitator has paused your posting until {time_out.until:%H:%M} UTC{about}. "
        "You can keep reading, and you're welcome to post again after that.",
        until=time_out.until.isoformat(),
        agreement=cited.to_wire() if cited else None,
        link=_repair_url(group),
    )


def remove_from_group(actor: User, group: Group, *, user_id: int, note: str = "", ban: bool = False) -> Membership:
    """Remove (or ban) a member through groups.actions; their chat closes at once, and it is in the log."""
    with transaction.atomic():
        _facilitating(actor, group)
        target = _member_of(group, user_id)
        reason = note.strip() or "Removed by a facilitator."
        try:
            membership = (ban_member if ban else remove_member)(actor, target, reason)
        except MembershipError as problem:
            raise ModerationRefused(str(problem), reason=problem.reason) from None
        kind = "moderation.member.banned" if ban else "moderation.member.removed"
        _audit(group.pk, kind, actor=actor, target_id=user_id, note=note)
    return membership


def _resolve(report: Report, actor: User, outcome: str) -> None:
    report.state = ReportState.RESOLVED
    report.outcome = outcome[:500]
    report.resolved_by = actor
    report.resolved_at = timezone.now()
    report.save(update_fields=["state", "outcome", "resolved_by", "resolved_at"])
    _audit(
        report.group_id,
        "moderation.direct_message.report_resolved" if report.is_private else "moderation.report.resolved",
        actor=actor,
        target_id=report.reporter_id,
        message=report.message,
        note=outcome,
    )
    realtime.on_commit_private(
        report.reporter_id,
        report.group_id,
        _notice(
            NoticeCode.REPORT_ANSWERED,
            f"About the message you reported: {outcome} Thank you for looking out for the group.",
            report=report.pk,
            link=reverse("moderation:my_reports"),
        ),
    )
    _resolved_on_facilitators(report.group_id, report_item(report))


def _locked_in_group(queryset, pk: int, group: Group, missing: str):
    """The group's row with this id, locked (only its own row, so PostgreSQL allows the outer joins)."""
    found = queryset.select_for_update(of=("self",)).filter(pk=pk, group=group).first()
    if found is None:
        raise ModerationRefused(missing, ErrorCode.NOT_FOUND)
    return found


def resolve_report(actor: User, group: Group, *, report_id: int, outcome: str) -> Report:
    """A facilitator answers a report; the reporter is told the outcome, on their socket and their reports page."""
    outcome = outcome.strip()
    if not outcome:
        raise ModerationRefused(
            "Please write a sentence for the person who reported it: they'll see it.", ErrorCode.MISSING_FIELD
        )
    with transaction.atomic():
        _facilitating(actor, group)
        related = Report.objects.select_related("message__author", "direct_message__author", "reporter")
        report = _locked_in_group(related, report_id, group, "We couldn't find that report.")
        if report.state == ReportState.RESOLVED:
            return report
        _resolve(report, actor, outcome)
    return report


def acknowledge_alert(actor: User, group: Group, *, alert_id: int) -> Alert:
    """A facilitator has seen an alert and is following up; it leaves every facilitator's queue."""
    with transaction.atomic():
        _facilitating(actor, group)
        related = Alert.objects.select_related("member", "message")
        alert = _locked_in_group(related, alert_id, group, "We couldn't find that alert.")
        if alert.acknowledged_at is None:
            alert.acknowledged_by = actor
            alert.acknowledged_at = timezone.now()
            alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
            kind = "moderation.crisis.acknowledged" if alert.is_crisis else "moderation.alert.acknowledged"
            _audit(group.pk, kind, actor=actor, target_id=alert.member_id, message=alert.message)
            _resolved_on_facilitators(group.pk, alert_item(alert))
    return alert


def accept_repair(actor: User, group: Group, *, repair_id: int) -> RepairRequest:
    """The facilitator accepts a member's repair: any time-out ends, the member is told, and it is logged."""
    with transaction.atomic():
        _facilitating(actor, group)
        related = RepairRequest.objects.select_related("member")
        repair = _locked_in_group(related, repair_id, group, "We couldn't find that repair.")
        if repair.state == RepairState.ACCEPTED:
            return repair
        repair.state = RepairState.ACCEPTED
        repair.accepted_by = actor
        repair.accepted_at = timezone.now()
        repair.save(update_fields=["state", "accepted_by", "accepted_at"])
        now = timezone.now()
        TimeOut.objects.filter(group=group, user=repair.member, until__gt=now).update(until=now)
        cited = Cited(repair.agreement_number, "") if repair.agreement_number else None
        _audit(group.pk, "moderation.repair.accepted", actor=actor, target_id=repair.member_id, cited=cited)
        realtime.on_commit_private(
            repair.member_id,
            group.pk,
            _notice(
                NoticeCode.REPAIR_ACCEPTED,
                "A facilitator accepted your repair. Thank you for coming back to it: you can post as usual.",
                repair=repair.pk,
            ),
        )
        _resolved_on_facilitators(group.pk, repair_item(repair))
    return repair


def update_policy(actor: User, group: Group, actions: dict[str, str]) -> ModerationPolicy:
    """A facilitator chooses what happens for each kind of agreement in their group."""
    allowed = {action.value for action in Action}
    with transaction.atomic():
        _facilitating(actor, group)
        if crisis := actions.get("crisis"):
            if crisis not in (Action.RESOURCES, Action.ALERT):
                raise ModerationRefused("A message about crisis always reaches the group with help offered.")
        if any(value not in allowed for value in actions.values()):
            raise ModerationRefused("Please choose one of the actions offered.", ErrorCode.INVALID_FIELD)
        policy, _ = ModerationPolicy.objects.select_for_update().get_or_create(group=group)
        changed = {k: v for k, v in actions.items() if policy.action_map().get(k) != v}
        policy.actions = {**policy.actions, **actions}
        policy.save()
        if changed:
            note = ", ".join(f"{category}: {value}" for category, value in sorted(changed.items()))
            _audit(group.pk, "moderation.policy.changed", actor=actor, note=note)
    return policy


def can_read_log(user: User, group: Group) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(
        user=user, group=group, role=Role.FACILITATOR, state__in=(MembershipState.ACTIVE, MembershipState.PAUSED)
    ).exists()
