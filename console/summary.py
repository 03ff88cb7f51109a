"""After a live session: who came and when, how people checked in, the rounds held, moderation actions and
open follow-ups. Charts are drawn server-side by matplotlib (Agg backend) as SVG; exports never carry
what anyone wrote."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from chat.models import Round, RoundAnswer, RoundKind
from chat.protocol import FEELINGS, NEEDS
from groups.models import CareMessage, Group, LiveSession, Role
from moderation.models import AuditEntry
from moderation.queue import open_queue
from supportcircle.text import counted

# Calm, high-contrast colours (WCAG AA against white) for the charts.
INK = "#1f2d3a"
FEELING_COLOUR = "#2f6f73"
NEED_COLOUR = "#6a4c93"
MEMBER_COLOUR = "#2f6f73"
FACILITATOR_COLOUR = "#8a5a00"

MODERATION_LABELS = {
    "moderation.message.held": "Messages held for review",
    "moderation.message.approved": "Held messages approved",
    "moderation.message.hidden": "Messages hidden under an agreement",
    "moderation.message.withdrawn": "Held messages taken back by their authors",
    "moderation.message.nudged": "Gentle nudges before posting",
    "moderation.message.posted_after_nudge": "Posted after a nudge",
    "moderation.message.collapsed": "Messages collapsed behind a content warning",
    "moderation.crisis.alerted": "Crisis alerts",
    "moderation.crisis.acknowledged": "Crisis alerts followed up",
    "moderation.report.filed": "Reports from members",
    "moderation.report.resolved": "Reports answered",
    "moderation.member.warned": "Private reminders of an agreement",
    "moderation.member.timed_out": "Time-outs",
    "moderation.member.removed": "Removals",
    "moderation.member.banned": "Bans",
    "moderation.repair.requested": "Repairs offered",
    "moderation.repair.accepted": "Repairs accepted",
}


@dataclass(frozen=True)
class Attendee:
    user_id: int
    pseudonym: str
    role: str
    arrived_at: datetime
    left_at: datetime | None

    @property
    def minutes(self) -> int:
        return int(((self.left_at or timezone.now()) - self.arrived_at).total_seconds() // 60)


@dataclass(frozen=True)
class RoundHeld:
    kind: str
    label: str
    opened_at: datetime
    closed_at: datetime | None
    answers: int


@dataclass
class SessionSummary:
    session: LiveSession
    attendees: list[Attendee]
    feelings: dict[str, int]
    needs: dict[str, int]
    checkins: int
    rounds: list[RoundHeld]
    moderation: list[tuple[str, int]]
    open_followups: list[str] = field(default_factory=list)
    check_ins_sent: list[str] = field(default_factory=list)

    @property
    def ended_at(self) -> datetime:
        return self.session.ended_at or timezone.now()

    def to_export(self) -> dict:
        """Everything the summary shows, without a word anyone wrote: for CSV and JSON export."""
        return {
            "group": self.session.group.slug,
            "session": self.session.pk,
            "started_at": self.session.started_at.isoformat(),
            "ended_at": self.session.ended_at.isoformat() if self.session.ended_at else None,
            "attendance": [
                {
                    "pseudonym": a.pseudonym,
                    "role": a.role,
                    "arrived_at": a.arrived_at.isoformat(),
                    "left_at": a.left_at.isoformat() if a.left_at else None,
                    "minutes": a.minutes,
                }
                for a in self.attendees
            ],
            "checkins": self.checkins,
            "feelings": self.feelings,
            "needs": self.needs,
            "rounds": [
                {
                    "kind": r.kind,
                    "opened_at": r.opened_at.isoformat(),
                    "closed_at": r.closed_at.isoformat() if r.closed_at else None,
                    "answers": r.answers,
                }
                for r in self.rounds
            ],
            "moderation": dict(self.moderation),
            "open_followups": self.open_followups,
        }


def summarize_session(session: LiveSession) -> SessionSummary:
    group: Group = session.group
    end = session.ended_at or timezone.now()
    roles = dict(group.memberships.values_list("user_id", "role"))
    attendees = [
        Attendee(seat.user_id, seat.user.pseudonym, roles.get(seat.user_id, Role.MEMBER), seat.arrived_at, seat.left_at)
        for seat in session.attendance.select_related("user").order_by("arrived_at", "user__pseudonym")
    ]
    rounds = list(
        Round.objects.filter(group=group, opened_at__gte=session.started_at, opened_at__lte=end).order_by("opened_at")
    )
    answers = list(RoundAnswer.objects.filter(round__in=[r for r in rounds if r.kind == RoundKind.CHECKIN]))
    feelings = Counter(feeling for answer in answers for feeling in answer.feelings)
    needs = Counter(answer.need for answer in answers if answer.need)
    counts = Counter(RoundAnswer.objects.filter(round__in=rounds).values_list("round_id", flat=True))
    moderation = Counter(
        AuditEntry.objects.filter(group=group, at__gte=session.started_at, at__lte=end).values_list("kind", flat=True)
    )
    queue = open_queue(group)
    followups = [
        f"{counted(len(items), label)} still open"
        for label, items in (
            ("crisis or wellbeing alert", queue.alerts),
            ("held message", queue.held),
            ("report", queue.reports),
            ("repair request", queue.repairs),
        )
        if items
    ]
    sent = CareMessage.objects.filter(group=group, sent_at__gte=session.started_at, sent_at__lte=end).select_related(
        "member"
    )
    return SessionSummary(
        session=session,
        attendees=attendees,
        feelings={key: feelings[key] for key in FEELINGS if feelings[key]},
        needs={key: needs[key] for key in NEEDS if needs[key]},
        checkins=len({answer.user_id for answer in answers}),
        rounds=[RoundHeld(r.kind, r.get_kind_display(), r.opened_at, r.closed_at, counts.get(r.pk, 0)) for r in rounds],
        moderation=sorted(
            (
                (MODERATION_LABELS.get(kind, kind.split(".", 1)[-1].replace(".", " ")), n)
                for kind, n in moderation.items()
            ),
            key=lambda row: (-row[1], row[0]),
        ),
        open_followups=followups,
        check_ins_sent=[f"A private check-in to {care.member.pseudonym}" for care in sent],
    )


# Charts -----------------------------------------------------------------------------------------


def _figure(height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams.update(
        {
            "svg.hashsalt": "supportcircle",  # stable ids, so the same summary draws the same chart
            "font.family": "DejaVu Sans",
            "font.size": 11,
            "axes.edgecolor": "#c9d1d9",
            "axes.labelcolor": INK,
            "xtick.color": INK,
            "ytick.color": INK,
            "text.color": INK,
        }
    )
    return pyplot.subplots(figsize=(7.5, height))


def _svg(figure) -> str:
    from matplotlib import pyplot

    buffer = io.StringIO()
    figure.tight_layout()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, transparent=False, facecolor="white")
    pyplot.close(figure)
    return buffer.getvalue()


def checkin_chart_svg(summary: SessionSummary) -> str:
    """How people checked in: one bar per feeling and per need named, counted across the session's check-ins."""
    rows = [(FEELINGS[k], n, FEELING_COLOUR) for k, n in summary.feelings.items()]
    rows += [(f"Need: {NEEDS[k]}", n, NEED_COLOUR) for k, n in summary.needs.items()]
    figure, axes = _figure(max(2.2, 0.42 * len(rows) + 1.2))
    if rows:
        labels, values, colours = zip(*reversed(rows), strict=True)
        bars = axes.barh(labels, values, color=colours)
        axes.bar_label(bars, padding=3)
        axes.set_xlabel("How many people named it")
        axes.xaxis.get_major_locator().set_params(integer=True)
    else:
        axes.text(
            0.5, 0.5, "Nobody checked in during this session.", ha="center", va="center", transform=axes.transAxes
        )
        axes.set_axis_off()
    axes.set_title("Feelings and needs at check-in", loc="left", fontsize=13)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure)


def attendance_chart_svg(summary: SessionSummary) -> str:
    """When each person was here: one bar per person from arrival to leaving, across the session."""
    start, end = summary.session.started_at, summary.ended_at
    people = summary.attendees
    figure, axes = _figure(max(2.2, 0.45 * len(people) + 1.3))
    if people:
        from matplotlib import dates

        for row, person in enumerate(reversed(people)):
            left = dates.date2num(person.arrived_at)
            right = dates.date2num(person.left_at or end)
            colour = FACILITATOR_COLOUR if person.role == Role.FACILITATOR else MEMBER_COLOUR
            axes.broken_barh([(left, max(right - left, 1e-5))], (row - 0.35, 0.7), color=colour)
        axes.set_yticks(range(len(people)), [p.pseudonym for p in reversed(people)])
        axes.set_xlim(dates.date2num(start), dates.date2num(end))
        short = (end - start).total_seconds() < 600
        axes.xaxis.set_major_locator(dates.AutoDateLocator(minticks=3, maxticks=7))
        axes.xaxis.set_major_formatter(dates.DateFormatter("%H:%M:%S" if short else "%H:%M"))
        axes.set_xlabel("Time (UTC)")
    else:
        axes.text(0.5, 0.5, "Nobody was counted as here.", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    axes.set_title("Who was here, and when", loc="left", fontsize=13)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure)


CHARTS = {"checkins": checkin_chart_svg, "attendance": attendance_chart_svg}
