"""The facilitators' queue as the chat socket carries it: held messages, reports, alerts and repairs as queue
items, and what a facilitator (or a member on a time-out) is sent on connect."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from chat.models import Message, MessageState
from chat.protocol import NoticeCode, dumps
from groups.models import (
    Group,
    Membership,
    Role,
)

from .models import (
    Alert,
    AuditEntry,
    RepairRequest,
    RepairState,
    Report,
    ReportState,
    TimeOut,
)
from .records import Cited, active_time_out, cite_number, notice, person

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
        "member": person(message.author),
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
        "member": person(report.reported_author),
        "reporter": person(report.reporter),
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
        "crisis_kind": alert.crisis_kind or None,
        "source": alert.source,
        "raised_by": person(alert.raised_by) if alert.raised_by_id else None,
        "member": person(alert.member),
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
        "member": person(repair.member),
        "prompt": repair.prompt,
        "note": repair.note,
        "agreement_number": repair.agreement_number,
    }


def crisis_alert_frame(alert: Alert) -> dict:
    return {"type": "crisis_alert", "alert": alert_item(alert)}


# What the engine found, in plain words, for the facilitator reading a held message.
FOUND_WORDS = {
    "crisis": "words that may mean someone is in crisis",
    "judgment": "words that may judge rather than ask",
    "advice": "advice nobody asked for",
    "numbers": "numbers about food or bodies",
    "diet": "diet talk",
    "body": "a comment on someone's body",
    "self_criticism": "harsh words about oneself",
    "contact": "a way to reach someone outside the group (a phone number, an email address or a handle)",
}


@dataclass(frozen=True)
class Found:
    """One thing the guideline engine noticed in a held message: what kind, and the words themselves."""

    what: str
    words: str


@dataclass(frozen=True)
class HeldMessage:
    """A held message as the queue page shows it: the agreement it was held under, and what was found."""

    message: Message
    cited: Cited | None
    found: tuple[Found, ...]


def why_held(group: Group, held: list[Message]) -> list[HeldMessage]:
    """Why each message is waiting, in plain words: the agreement it was held under (from the audit log, one
    query) and what the engine found in it, read again from the words the facilitator is about to read."""
    from .review import engine_for  # review imports this module

    citations = {
        entry.message_id: Cited(entry.agreement_number, entry.agreement_text)
        for entry in AuditEntry.objects.filter(message__in=held, kind="moderation.message.held")
    }
    engine = engine_for(group.rulesets) if held else None
    shown = []
    for message in held:
        found = []
        for match in engine.check(message.body).matches:
            item = Found(FOUND_WORDS.get(match.category, match.category), message.body[match.start : match.end])
            if item not in found:
                found.append(item)
        shown.append(HeldMessage(message, citations.get(message.pk), tuple(found)))
    return shown


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
        .select_related("member", "message", "raised_by")
        .order_by("created_at")
    )
    alerts.sort(key=lambda alert: alert.urgency)
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
        return [dumps(time_out_notice(time_out, group, cite_number(group, time_out.agreement_number)))]
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


def cite_held(message: Message) -> Cited | None:
    entry = (
        AuditEntry.objects.filter(message=message, kind="moderation.message.held")
        .only("agreement_number", "agreement_text")
        .first()
    )
    return Cited(entry.agreement_number, entry.agreement_text) if entry else None


def repair_url(group: Group) -> str:
    return reverse("moderation:repair", args=[group.slug])


def time_out_notice(time_out: TimeOut, group: Group, cited: Cited | None) -> dict:
    about = f" because of {cited.label}" if cited else ""
    return notice(
        NoticeCode.TIMED_OUT,
        f"A facilitator has paused your posting until {time_out.until:%H:%M} UTC{about}. "
        "You can keep reading, and you're welcome to post again after that.",
        until=time_out.until.isoformat(),
        agreement=cited.to_wire() if cited else None,
        link=repair_url(group),
    )
