"""Moderation pages: the facilitators' queue, log and policy; a member's reports and repair. Thin: each
POST calls the same action the chat socket calls."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST, require_safe

from chat.protocol import ModerateFrame
from groups.actions import blocked_between, require_facilitator
from groups.models import Group, Membership
from supportcircle.security import log_refusal

from . import actions, crisis, frames
from .forms import DirectMessageReportForm, ModerateForm, PolicyForm, RepairForm
from .models import AuditEntry, Report
from .queue import open_queue, why_held
from .records import ModerationRefused
from .review import policy_for

# What each log entry means, in plain words.
KIND_LABELS = {
    "moderation.message.nudged": "Nudged before posting",
    "moderation.message.posted_after_nudge": "Posted after a nudge",
    "moderation.message.collapsed": "Posted behind a content warning",
    "moderation.message.held": "Held for review",
    "moderation.message.blocked": "Not posted (blocked)",
    "moderation.message.alerted": "Facilitators alerted",
    "moderation.message.approved": "Held message approved",
    "moderation.message.hidden": "Message removed under an agreement",
    "moderation.message.withdrawn": "Held message taken back by its author",
    "moderation.crisis.alerted": "Crisis: resources shown, facilitators alerted",
    "moderation.crisis.acknowledged": "Crisis alert followed up",
    "moderation.alert.acknowledged": "Alert followed up",
    "moderation.report.filed": "Message reported",
    "moderation.report.resolved": "Report answered",
    "moderation.direct_message.reported": "Private message reported",
    "moderation.direct_message.report_resolved": "Report of a private message answered",
    "moderation.member.warned": "Warned privately",
    "moderation.member.timed_out": "Time-out",
    "moderation.member.removed": "Removed from the group",
    "moderation.member.banned": "Banned from the group",
    "moderation.repair.requested": "Offered repair",
    "moderation.repair.accepted": "Repair accepted",
    "moderation.policy.changed": "Moderation policy changed",
    "groups.facilitator.none_left": "No facilitator left: an administrator needs to bring one in",
    # Written by the safeguarding rota (an app above moderation) into the group's log.
    "safeguarding.alert.climbed": "Crisis alert not taken in time: the next people were paged",
    "safeguarding.alert.step_skipped": "Crisis alert: nobody at this step, on to the next",
    "safeguarding.alert.taken": "Crisis alert taken",
    "safeguarding.alert.followed_up": "Crisis alert followed up, with a private note",
    "safeguarding.alert.closed": "Crisis alert closed",
}
LOG_PAGE = 200


def _facilitated_group(request: HttpRequest, slug: str) -> Group:
    group = get_object_or_404(Group, slug=slug)
    require_facilitator(request.user, group)  # a 403 for everyone else
    return group


@login_required
@require_safe
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    """Everything waiting for a facilitator: crisis alerts first, then held messages, reports and repairs."""
    group = _facilitated_group(request, slug)
    waiting = open_queue(group)
    return render(
        request,
        "moderation/queue.html",
        {
            "group": group,
            "queue": waiting,
            "held": why_held(group, waiting.held),
            "agreements": group.current_agreements(),
        },
    )


@login_required
@require_POST
def act(request: HttpRequest, slug: str) -> HttpResponse:
    group = _facilitated_group(request, slug)
    form = ModerateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("moderation:queue", slug=slug)
    data = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
    try:
        reply = frames.moderate(request.user.pk, group.pk, ModerateFrame(**data))
    except ModerationRefused as refused:
        log_refusal(request, refused.reason)
        messages.error(request, str(refused))
    else:
        messages.success(request, reply["message"])
    return redirect("moderation:queue", slug=slug)


@login_required
@require_GET
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    """Read-only: every automated and human moderation action in this group, newest first. Never the words."""
    group = get_object_or_404(Group, slug=slug)
    if not actions.can_read_log(request.user, group):
        raise PermissionDenied("Only this group's facilitators can read its moderation log.")
    entries = AuditEntry.objects.filter(group=group).select_related("actor", "target", "message__author")[:LOG_PAGE]
    rows = [(entry, KIND_LABELS.get(entry.kind, entry.kind)) for entry in entries]
    return render(request, "moderation/log.html", {"group": group, "rows": rows})


@login_required
def policy(request: HttpRequest, slug: str) -> HttpResponse:
    group = _facilitated_group(request, slug)
    form = PolicyForm(request.POST or None, current=policy_for(group))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_policy(request.user, group, form.cleaned_data)
        except ModerationRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, "Saved. New messages in the group follow these choices from now on.")
            return redirect("moderation:policy", slug=slug)
    return render(request, "moderation/policy.html", {"group": group, "form": form}, status=400 if form.errors else 200)


@login_required
def repair(request: HttpRequest, slug: str) -> HttpResponse:
    """A member who was warned, or had a message removed, offers to repair, with words to begin with."""
    group = get_object_or_404(Group, slug=slug)
    membership = Membership.objects.filter(user=request.user, group=group).first()
    if membership is None or not membership.is_seated:
        raise PermissionDenied("Repair is for members of this group.")
    warnings, hidden = actions.repair_invitations(request.user, group)
    choices = [
        (f"warning:{w.pk}", f"A reminder of agreement {w.agreement_number} on {w.created_at:%d %b}") for w in warnings
    ] + [(f"message:{m.pk}", f"Your message removed under agreement {m.removed_agreement_number}") for m in hidden]
    form = RepairForm(request.POST or None, choices=choices)
    if form.has_error("about", code="invalid_choice"):
        log_refusal(request, "not_yours_to_repair")  # a warning or message that isn't this member's
    if request.method == "POST" and form.is_valid():
        kind, _, pk = form.cleaned_data["about"].partition(":")
        warning = next((w for w in warnings if kind == "warning" and str(w.pk) == pk), None)
        message = next((m for m in hidden if kind == "message" and str(m.pk) == pk), None)
        try:
            actions.request_repair(
                request.user,
                group,
                prompt=form.cleaned_data["prompt"],
                note=form.cleaned_data["note"],
                warning=warning,
                message=message,
            )
        except ModerationRefused as refused:
            log_refusal(request, refused.reason)
            form.add_error(None, str(refused))
        else:
            messages.success(request, "Thank you. The facilitators have your words and will get back to you.")
            return redirect("chat:room", slug=slug)
    agreements = {a.number: a.text for a in group.current_agreements()}
    return render(
        request,
        "moderation/repair.html",
        {"group": group, "form": form, "has_invitations": bool(choices), "agreements": agreements},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def my_reports(request: HttpRequest) -> HttpResponse:
    reports = Report.objects.filter(reporter=request.user).select_related("group")
    return render(request, "moderation/my_reports.html", {"reports": reports})


@login_required
def report_direct_message(request: HttpRequest, conversation_id: int, direct_message_id: int) -> HttpResponse:
    """Report one message the other person wrote in my private conversation. Anything else is a 404."""
    direct_message = actions.reportable_direct_message(request.user, conversation_id, direct_message_id)
    if direct_message is None:
        raise Http404
    other = direct_message.author
    groups = actions.shared_groups(request.user.pk, other.pk)
    form = DirectMessageReportForm(request.POST or None, groups=groups)
    if request.method == "POST" and not groups:
        log_refusal(request, "no_shared_group")
    if form.has_error("group", code="invalid_choice"):
        log_refusal(request, "not_a_shared_group")
    if request.method == "POST" and groups and form.is_valid():
        try:
            actions.report_direct_message(
                request.user,
                conversation_id=conversation_id,
                direct_message_id=direct_message.pk,
                group_id=form.cleaned_data["group"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ModerationRefused as refused:
            log_refusal(request, refused.reason)
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                "Thank you for telling us. A facilitator will read this one message, and we'll let you know what "
                f"they do on your reports page. {other.pseudonym} isn't told that you reported it.",
            )
            return redirect("groups:conversation", conversation_id=conversation_id)
    return render(
        request,
        "moderation/report_direct_message.html",
        {
            "direct_message": direct_message,
            "other": other,
            "groups": groups,
            "form": form,
            "conversation_id": conversation_id,
            "closed": blocked_between(request.user.pk, other.pk),
        },
        status=400 if form.errors else 200,
    )


@require_safe
def support_lines(request: HttpRequest) -> HttpResponse:
    """The support lines, for anyone, signed in or not: one step from every chat page."""
    return render(
        request,
        "moderation/support_lines.html",
        {
            "everyday": crisis.resources_for(crisis.SUICIDE),
            "medical": crisis.resources_for(crisis.MEDICAL)[0],
            "at_home": crisis.resources_for(crisis.DANGER_AT_HOME)[:2],
            "quick_exit_url": settings.QUICK_EXIT_URL,
        },
    )
