"""Moderation state changes, one function each: guide first, protect always, punish last.

Each is something a member or a facilitator does, called alike by the chat socket and by the pages. Each
runs in one transaction, writes an ``AuditEntry`` (never the words of a message) and tells open sockets
only after commit. Reviewing an outgoing message is moderation/review.py; the queue's frames,
moderation/queue.py."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from chat import actions as chat_actions
from chat import broadcast
from chat.models import Message, MessageState
from chat.protocol import ErrorCode, NoticeCode, dumps
from groups.actions import ban_member, conversation_for, minutes_until_free, remove_member, require_facilitator
from groups.errors import MembershipError, NotAFacilitator
from groups.models import (
    SEATED_STATES,
    DirectMessage,
    Group,
    Membership,
    MembershipState,
    Role,
)
from supportcircle import realtime
from supportcircle.accounts.models import User

from . import crisis
from .engine import Action
from .models import (
    REPAIR_PROMPTS,
    Alert,
    MemberWarning,
    ModerationPolicy,
    RepairRequest,
    RepairState,
    Report,
    ReportReason,
    ReportState,
    TimeOut,
)
from .queue import (
    alert_item,
    cite_held,
    held_item,
    queue_frame,
    repair_item,
    repair_url,
    report_item,
    time_out_notice,
)
from .records import (
    Cited,
    ModerationRefused,
    audit,
    cite_number,
    notice,
)
from .review import raise_alert
from .signals import alert_acknowledged

MAX_TIME_OUT_MINUTES = 7 * 24 * 60
log = logging.getLogger(__name__)


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
        audit(group_id, "moderation.report.filed", actor=membership.user, message=message)
        realtime.on_commit_private(
            user_id,
            group_id,
            notice(
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


# --- "I'm worried about them" -------------------------------------------------------------------

WORRY_MEANWHILE = (
    "Thank you for looking out for {name}. The facilitators have been told, first in their queue, and "
    "will check in with them. Meanwhile, a simple, kind reply in the group helps (\u201cI'm glad you told "
    "us. I'm here.\u201d); you don't need to fix anything or give advice. If you believe they're in danger "
    "right now and you know where they are, please call your local emergency number. This can be heavy "
    "to carry: the support lines below are there for you too."
)


def raise_worry(user_id: int, group_id: int, *, seq: int, note: str = "") -> Alert:
    """A member is worried about the person who wrote message ``seq``. The facilitators get a crisis-first
    alert (one per message while open: a second worried peer is thanked, and the alert stands); the
    worried member is thanked and told kindly what they can do meanwhile, with the support lines."""
    _check_report_pace(user_id)
    with transaction.atomic():
        membership = _seated_membership(user_id, group_id)
        message = _message_in(group_id, seq)
        if message.author_id == user_id or message.author is None:
            raise ModerationRefused(
                "This is your own message. If you're struggling, the support lines at the top of the page "
                "are there for you, any time.",
                reason="own_message",
            )
        alert = (
            Alert.objects.select_for_update()
            .filter(message=message, category="worried", acknowledged_at__isnull=True)
            .first()
        )
        if alert is None:
            alert = raise_alert(
                message,
                message.author,
                category="worried",
                source="peer",
                raised_by=membership.user,
                resources=list(crisis.resources_for(crisis.SUICIDE)),
                note=note.strip()[:500] or "A member is worried about them.",
            )
        realtime.on_commit_private(
            user_id,
            group_id,
            notice(
                NoticeCode.WORRY_RECEIVED,
                WORRY_MEANWHILE.format(name=message.author.pseudonym),
                seq=seq,
                resources=crisis.resources_for(crisis.SUICIDE),
            ),
        )
    return alert


def withdraw_held_message(user_id: int, group_id: int, *, seq: int) -> Message:
    """The author takes back their own message while it waits for a facilitator (their phone number, say),
    to leave it unsaid or to word it again. Nobody else ever read it: it leaves the facilitators' queue at
    once, and where it stood everyone sees only "removed by its author", as for any message taken back."""
    with transaction.atomic():
        membership = _seated_membership(user_id, group_id)
        message = Message.objects.select_for_update().filter(group_id=group_id, seq=seq).first()
        if message is None or message.author_id != user_id:
            # Someone else's message, held or not, is simply not found: its existence is not theirs to learn.
            raise ModerationRefused(
                "We couldn't find that message of yours.", ErrorCode.NOT_FOUND, reason="not_your_held_message"
            )
        if message.state != MessageState.HELD:
            raise ModerationRefused(
                "That message isn't waiting for a facilitator any more, so there's nothing to take back here.",
                ErrorCode.NOT_FOUND,
            )
        cited = cite_held(message)
        message.state = MessageState.REMOVED_BY_AUTHOR
        message.body = ""
        message.save(update_fields=["state", "body"])
        audit(
            group_id,
            "moderation.message.withdrawn",
            actor=membership.user,
            target_id=user_id,
            message=message,
            cited=cited,
        )
        chat_actions.broadcast_updated(message)
        realtime.on_commit_private(
            user_id,
            group_id,
            notice(
                NoticeCode.MESSAGE_WITHDRAWN,
                "You took your message back. Nobody else read it, and the facilitators no longer need to. "
                "If you'd like to say it another way, your words are in the box.",
                seq=seq,
            ),
        )
        _resolved_on_facilitators(group_id, held_item(message, cited))
    return message


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
        audit(group.pk, "moderation.direct_message.reported", actor=reporter)
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
        audit(group.pk, "moderation.repair.requested", actor=member, target_id=member.pk, message=message, cited=cited)
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


def approve_message(actor: User, group: Group, *, seq: int) -> Message:
    """A held message joins the conversation; its author is told."""
    with transaction.atomic():
        _facilitating(actor, group)
        message = Message.objects.select_for_update().filter(group=group, seq=seq, state=MessageState.HELD).first()
        if message is None:
            raise ModerationRefused("That message isn't waiting for review any more.", ErrorCode.NOT_FOUND)
        message.state = MessageState.VISIBLE
        message.save(update_fields=["state"])
        cited = cite_held(message)
        audit(group.pk, "moderation.message.approved", actor=actor, target_id=message.author_id, message=message)
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
                notice(
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
        audit(
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
                notice(
                    NoticeCode.MESSAGE_HIDDEN,
                    f"A facilitator removed one of your messages under {cited.label}. "
                    "Everyone gets things wrong sometimes; if you'd like to repair, you can.",
                    seq=seq,
                    agreement=cited.to_wire(),
                    link=repair_url(group),
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
        audit(
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
            user_id, group.pk, notice(NoticeCode.WARNING, text, agreement=cited.to_wire(), link=repair_url(group))
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
        audit(
            group.pk,
            "moderation.member.timed_out",
            actor=actor,
            target_id=user_id,
            cited=cited,
            note=f"{minutes} minutes. {note}".strip(),
        )
        realtime.on_commit_private(user_id, group.pk, time_out_notice(time_out, group, cited))
    return time_out


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
        audit(group.pk, kind, actor=actor, target_id=user_id, note=note)
    return membership


def _resolve(report: Report, actor: User, outcome: str) -> None:
    report.state = ReportState.RESOLVED
    report.outcome = outcome[:500]
    report.resolved_by = actor
    report.resolved_at = timezone.now()
    report.save(update_fields=["state", "outcome", "resolved_by", "resolved_at"])
    audit(
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
        notice(
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
            audit(group.pk, kind, actor=actor, target_id=alert.member_id, message=alert.message)
            alert_acknowledged.send(sender=Alert, alert=alert, actor=actor)
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
        audit(group.pk, "moderation.repair.accepted", actor=actor, target_id=repair.member_id, cited=cited)
        realtime.on_commit_private(
            repair.member_id,
            group.pk,
            notice(
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
            audit(group.pk, "moderation.policy.changed", actor=actor, note=note)
    return policy


def can_read_log(user: User, group: Group) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(
        user=user, group=group, role=Role.FACILITATOR, state__in=(MembershipState.ACTIVE, MembershipState.PAUSED)
    ).exists()
