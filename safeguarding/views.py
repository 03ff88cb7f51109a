"""The safeguarding pages: one alert's page (take it, follow up, close, debrief), the banner's feed, a rota
member's own availability, and the operators' report. Thin: the actions decide."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST, require_safe

from moderation.models import AuditEntry

from . import actions
from .actions import SafeguardingRefused
from .models import AlertCase, CaseState, Debrief, RotaMember, Step
from .report import figures

# The alert's steps in the group's audit log, in plain words.
TRAIL_LABELS = {
    "moderation.crisis.alerted": "Crisis: support lines shown to the member, alert raised",
    "moderation.crisis.acknowledged": "Taken by",
    "safeguarding.alert.climbed": "Climbed",
    "safeguarding.alert.step_skipped": "Step skipped",
    "safeguarding.alert.taken": "Taken by",
    "safeguarding.alert.followed_up": "Followed up by",
    "safeguarding.alert.closed": "Closed by",
}
TRAIL_KINDS = tuple(TRAIL_LABELS)


def _case(request: HttpRequest, case_id: int) -> AlertCase:
    case = (
        AlertCase.objects.select_related("group", "alert__member", "alert__message", "acknowledged_by")
        .filter(pk=case_id)
        .first()
    )
    if case is None or not actions.may_see(request.user, case):
        raise Http404("No alert here for you.")
    return case


def trail(case: AlertCase) -> list[AuditEntry]:
    """The alert's steps in the group's audit log, oldest first: the entries about its message (the audit log
    names the message, never its words), or, once the message is gone (retention), those since it was raised."""
    entries = AuditEntry.objects.filter(group_id=case.group_id, kind__in=TRAIL_KINDS)
    if case.alert.message_id is not None:
        entries = entries.filter(message_id=case.alert.message_id)
    else:
        entries = entries.filter(at__gte=case.raised_at - timedelta(seconds=1))
    return list(entries.select_related("actor").order_by("at", "id"))


@login_required
@require_safe
def alert(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    mine = case.acknowledged_by_id == request.user.pk
    return render(
        request,
        "safeguarding/alert.html",
        {
            "case": case,
            "step_label": Step(case.step).label,
            "may_take": case.is_open and actions.may_take(request.user, case),
            "mine": mine,
            "handles": mine or request.user.is_staff,
            "trail": [(entry, TRAIL_LABELS[entry.kind]) for entry in trail(case)],
            "debriefs": Debrief.objects.filter(case=case, author=request.user) if mine else [],
            "support_lines": settings.CRISIS_RESOURCES,
            "is_closed": case.state == CaseState.CLOSED,
        },
    )


def _act(request: HttpRequest, case_id: int, do, done: str) -> HttpResponse:
    _case(request, case_id)
    try:
        do()
    except SafeguardingRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, done)
    return redirect("safeguarding:alert", case_id=case_id)


@login_required
@require_POST
def take(request: HttpRequest, case_id: int) -> HttpResponse:
    def do():
        case = actions.take_alert(request.user, case_id)
        if case.acknowledged_by_id != request.user.pk:
            raise SafeguardingRefused(f"{case.acknowledged_by.pseudonym} has this one already. Thank you for looking.")

    return _act(request, case_id, do, "Thank you: it's yours now, and nobody else will be paged for it.")


@login_required
@require_POST
def followed_up(request: HttpRequest, case_id: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _act(
        request, case_id, lambda: actions.follow_up(request.user, case_id, note), "Noted. Thank you for following up."
    )


@login_required
@require_POST
def close(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, lambda: actions.close_case(request.user, case_id), "Closed. Thank you for your care.")


@login_required
@require_POST
def debrief(request: HttpRequest, case_id: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _act(request, case_id, lambda: actions.write_debrief(request.user, case_id, note), "Kept, just for you.")


@login_required
@require_GET
def banner(request: HttpRequest) -> JsonResponse:
    """The alerts this person may take now, for the banner on their pages (static/js/safeguarding-banner.js)."""
    actions.note_seen(request.user)
    cases = actions.takeable_by(request.user).select_related("group").order_by("raised_at")[:10]
    now = timezone.now()
    return JsonResponse(
        {
            "alerts": [
                {
                    "id": case.pk,
                    "group": case.group.name,
                    "waiting_minutes": max(0, int((now - case.raised_at).total_seconds() // 60)),
                    "url": reverse("safeguarding:alert", args=[case.pk]),
                    "take_url": reverse("safeguarding:take", args=[case.pk]),
                }
                for case in cases
            ]
        }
    )


@login_required
def rota(request: HttpRequest) -> HttpResponse:
    member = RotaMember.objects.filter(user=request.user, is_active=True).prefetch_related("hours").first()
    if member is None:
        raise Http404("You're not on the safeguarding rota.")
    if request.method == "POST":
        available = request.POST.get("available") == "yes"
        actions.set_available(request.user, available)
        messages.success(
            request,
            "You're available again. Thank you." if available else "You're marked unavailable: take the time you need.",
        )
        return redirect("safeguarding:rota")
    return render(request, "safeguarding/rota.html", {"member": member})


@login_required
@require_safe
def report(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The safeguarding report is for operators.")
    try:
        days = max(1, min(366, int(request.GET.get("days", "7"))))
    except ValueError:
        days = 7
    until = timezone.now()
    result = figures(until - timedelta(days=days), until)
    reached = [(Step(step).label, result.reached.get(step, 0)) for step in Step]
    open_cases = AlertCase.objects.filter(state=CaseState.OPEN).select_related("group").order_by("raised_at")
    return render(
        request,
        "safeguarding/report.html",
        {"figures": result, "days": days, "reached": reached, "open_cases": open_cases},
    )
