from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from supportcircle.security import log_refusal
from supportcircle.text import storable_text

from . import actions
from .errors import MembershipError
from .forms import AgreementsForm, DecisionForm, GroupSettingsForm, JoinForm, ReasonForm, SessionScheduleForm
from .models import (
    SEATED_STATES,
    Group,
    JoinPolicy,
    Membership,
    MembershipEvent,
    MembershipState,
    Role,
    SessionSchedule,
    Topic,
    Visibility,
)
from .sessions import live_now, next_sessions, zone


def flash_form_errors(request: HttpRequest, form, about: str = "") -> None:
    """Show a form's errors as notices on the page the person is sent back to."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"{about}: {error}" if about else error)


@require_safe
def directory(request: HttpRequest) -> HttpResponse:
    groups = Group.objects.filter(visibility=Visibility.LISTED)
    query = request.GET.get("q", "").strip()[:100]
    topic = request.GET.get("topic", "")
    search_problem = ""
    if not storable_text(query):
        query, search_problem = "", "That search has a character we can't read. Please try other words."
    if query:
        groups = groups.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if topic in Topic.values:
        groups = groups.filter(topic=topic)
    mine: dict[int, Membership] = {}
    if request.user.is_authenticated:
        mine = {m.group_id: m for m in Membership.objects.filter(user=request.user)}
    now = timezone.now()
    return render(
        request,
        "groups/directory.html",
        {
            "rows": [
                (group, mine.get(group.pk), live_now(list(group.schedules.all()), now=now))
                for group in groups.prefetch_related("schedules")
            ],
            "query": query,
            "search_problem": search_problem,
            "topic": topic,
            "topics": Topic.choices,
        },
    )


def _viewer_timezone(request: HttpRequest) -> str:
    return request.user.timezone if request.user.is_authenticated else "UTC"


def _sessions(group: Group, request: HttpRequest, count: int = 3):
    return next_sessions(
        list(group.schedules.all()), now=timezone.now(), viewer_timezone=_viewer_timezone(request), count=count
    )


def _detail_context(request: HttpRequest, group: Group, form: JoinForm | None = None) -> dict:
    membership = None
    if request.user.is_authenticated:
        membership = Membership.objects.filter(user=request.user, group=group).first()
    facilitators = [
        m.user
        for m in group.memberships.filter(role=Role.FACILITATOR, state__in=SEATED_STATES)
        .select_related("user")
        .order_by("user__pseudonym")
    ]
    last_answer = None
    if membership and membership.state in (MembershipState.DECLINED, MembershipState.ACTIVE):
        # The facilitators' answer to a request, with their kind word, while it is the latest news.
        latest = membership.events.select_related("actor").first()
        if latest and latest.kind in ("groups.membership.declined", "groups.membership.approved"):
            last_answer = latest
    is_facilitator = bool(membership and membership.is_facilitator and membership.is_seated)
    return {
        "group": group,
        "agreements": group.current_agreements(),
        "membership": membership,
        "is_facilitator": is_facilitator,
        "facilitators": facilitators,
        "form": form or JoinForm(initial={"version": group.agreement_version}),
        "sessions": _sessions(group, request),
        "viewer_timezone": _viewer_timezone(request),
        "viewer_zone": zone(_viewer_timezone(request)),
        "last_answer": last_answer,
        "seats_left": max(
            group.capacity - group.memberships.filter(role=Role.MEMBER, state__in=SEATED_STATES).count(), 0
        ),
        "invite_url": request.build_absolute_uri(reverse("groups:invite", args=[group.slug, group.invite_token]))
        if is_facilitator
        else "",
    }


@require_safe
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    return render(request, "groups/detail.html", _detail_context(request, group))


@login_required
@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    """Accept the agreements: join an open group, ask for a place, or accept a new version as a member."""
    group = get_object_or_404(Group, slug=slug)
    form = JoinForm(request.POST)
    if form.is_valid():
        version = form.cleaned_data["version"]
        membership = Membership.objects.filter(user=request.user, group=group).first()
        try:
            if membership and membership.is_seated:
                actions.accept_agreements(request.user, group, accepted_version=version)
                messages.success(request, "Thank you for accepting the new agreements. You can post again.")
                return redirect("chat:room", slug=group.slug)
            if group.join_policy == JoinPolicy.REQUEST:
                actions.request_to_join(request.user, group, accepted_version=version, note=form.cleaned_data["note"])
                messages.success(
                    request, "Thank you. Your request is with the facilitators; you'll see their answer on this page."
                )
                return redirect("groups:detail", slug=group.slug)
            actions.join_group(request.user, group, accepted_version=version)
        except MembershipError as problem:
            log_refusal(request, problem.reason)
            form.add_error(None, str(problem))
        else:
            messages.success(request, f"Welcome to {group.name}. Thank you for accepting the agreements.")
            return redirect("chat:room", slug=group.slug)
    return render(request, "groups/detail.html", _detail_context(request, group, form), status=400)


def invite(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The invite link: anyone holding it can accept the agreements and join, whatever the join policy."""
    group = get_object_or_404(Group, slug=slug, invite_token=token)
    form = JoinForm(request.POST or None, initial={"version": group.agreement_version})
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={request.path}")
        if form.is_valid():
            try:
                actions.join_by_invite(request.user, token, accepted_version=form.cleaned_data["version"])
            except MembershipError as problem:
                log_refusal(request, problem.reason)
                form.add_error(None, str(problem))
            else:
                messages.success(request, f"Welcome to {group.name}. Thank you for accepting the agreements.")
                return redirect("chat:room", slug=group.slug)
    context = _detail_context(request, group, form)
    context["invite_token"] = token
    return render(request, "groups/detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    if Membership.objects.filter(user=request.user, group=group, state__in=SEATED_STATES).exists():
        try:
            actions.leave_group(request.user, group)
        except MembershipError as problem:
            log_refusal(request, problem.reason)
            messages.warning(request, str(problem))
        else:
            messages.info(request, f"You've left {group.name}. You're welcome back any time.")
    else:
        log_refusal(request, "not_a_member")
    return redirect("groups:detail", slug=slug)


@login_required
@require_POST
def take_a_break(request: HttpRequest, slug: str, verb: str) -> HttpResponse:
    """Start ("pause") or end ("resume") a break from the group."""
    group = get_object_or_404(Group, slug=slug)
    action, done, refused = BREAK_ACTIONS[verb]
    try:
        action(request.user, group)
    except MembershipError as problem:
        log_refusal(request, problem.reason)
        messages.error(request, refused)
    except Membership.DoesNotExist:
        log_refusal(request, "not_a_member")
        messages.error(request, refused)
    else:
        messages.success(request, done)
    return redirect("groups:detail", slug=slug)


BREAK_ACTIONS = {
    "pause": (
        actions.pause_membership,
        "You're taking a break. Your seat is kept and you can read whenever you like.",
        "You can take a break only while you're an active member of the group.",
    ),
    "resume": (
        actions.resume_membership,
        "Welcome back. You can post again whenever you're ready.",
        "You're not on a break from this group.",
    ),
}


@login_required
@require_safe
def my_groups(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(
            user=request.user, state__in=[*SEATED_STATES, MembershipState.REQUESTED, MembershipState.DECLINED]
        )
        .select_related("group")
        .prefetch_related("group__schedules")
        .order_by("group__name")
    )
    rows = [(membership, _sessions(membership.group, request, count=1)) for membership in memberships]
    viewer = _viewer_timezone(request)
    return render(request, "groups/mine.html", {"rows": rows, "viewer_timezone": viewer, "viewer_zone": zone(viewer)})


# Facilitators ------------------------------------------------------------------


@login_required
@require_safe
def members(request: HttpRequest, slug: str) -> HttpResponse:
    """Requests to approve or decline, members to remove or ban, bans to lift, and the record of changes."""
    group = get_object_or_404(Group, slug=slug)
    actions.require_facilitator(request.user, group)
    everyone = group.memberships.select_related("user").order_by("user__pseudonym")
    return render(
        request,
        "groups/members.html",
        {
            "group": group,
            "requests": [m for m in everyone if m.state == MembershipState.REQUESTED],
            "seated": [m for m in everyone if m.state in SEATED_STATES],
            "banned": [m for m in everyone if m.state == MembershipState.BANNED],
            "history": MembershipEvent.objects.filter(membership__group=group)
            .select_related("membership__user", "actor")
            .order_by("-at")[:50],
            "decision_form": DecisionForm(),
            "reason_form": ReasonForm(),
            "schedules": group.schedules.all(),
            "settings_form": GroupSettingsForm(
                initial={
                    "description": group.description,
                    "visibility": group.visibility,
                    "join_policy": group.join_policy,
                    "capacity": group.capacity,
                    "rulesets": group.rulesets,
                }
            ),
            "schedule_form": SessionScheduleForm(initial={"timezone": request.user.timezone, "duration_minutes": 60}),
            "agreements_form": AgreementsForm(
                initial={"texts": "\n".join(a.text for a in group.current_agreements() if not a.rule_key)}
            ),
        },
    )


MEMBER_ACTIONS = {
    # name: (action, form class, field, message shown to the facilitator)
    "approve": (actions.approve_request, DecisionForm, "message", "{name} is now a member of the group."),
    "decline": (actions.decline_request, DecisionForm, "message", "You declined {name}'s request."),
    "remove": (actions.remove_member, ReasonForm, "reason", "{name} has been removed from the group."),
    "ban": (actions.ban_member, ReasonForm, "reason", "{name} has been banned from the group."),
    "lift": (actions.lift_ban, DecisionForm, "message", "The ban on {name} is lifted; they can join again."),
}


@login_required
@require_POST
def member_action(request: HttpRequest, slug: str, membership_id: int, verb: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    actions.require_facilitator(request.user, group)
    membership = get_object_or_404(Membership.objects.select_related("user", "group"), pk=membership_id, group=group)
    if verb not in MEMBER_ACTIONS:
        raise Http404
    action, form_class, field, done = MEMBER_ACTIONS[verb]
    form = form_class(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form, about=membership.user.pseudonym)
        return redirect("groups:members", slug=slug)
    try:
        action(request.user, membership, form.cleaned_data[field])
    except MembershipError as problem:
        log_refusal(request, problem.reason)
        messages.error(request, str(problem))
    else:
        messages.success(request, done.format(name=membership.user.pseudonym))
    return redirect("groups:members", slug=slug)


@login_required
@require_POST
def group_settings(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    actions.require_facilitator(request.user, group)
    form = GroupSettingsForm(request.POST)
    if form.is_valid():
        rulesets_before = set(group.rulesets)
        try:
            group = actions.update_group_settings(request.user, group, **form.cleaned_data)
        except MembershipError as problem:
            messages.error(request, str(problem))
        else:
            changed = " The agreements changed with the rule sets; members will be asked to accept them."
            messages.success(
                request, "The group's settings are saved." + (changed if set(group.rulesets) != rulesets_before else "")
            )
    else:
        flash_form_errors(request, form)
    return redirect("groups:members", slug=slug)


@login_required
@require_POST
def add_schedule(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    actions.require_facilitator(request.user, group)
    form = SessionScheduleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        actions.add_session_schedule(
            request.user,
            group,
            weekday=data["weekday"],
            start_time=data["start_time"],
            duration_minutes=data["duration_minutes"],
            timezone_name=data["timezone"],
        )
        messages.success(request, "The session is on the schedule. Members see it in their own time zone.")
    else:
        flash_form_errors(request, form)
    return redirect("groups:members", slug=slug)


@login_required
@require_POST
def remove_schedule(request: HttpRequest, slug: str, schedule_id: int) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    actions.require_facilitator(request.user, group)
    actions.remove_session_schedule(request.user, get_object_or_404(SessionSchedule, pk=schedule_id, group=group))
    messages.success(request, "That session is off the schedule.")
    return redirect("groups:members", slug=slug)


@login_required
@require_POST
def change_agreements(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    actions.require_facilitator(request.user, group)
    form = AgreementsForm(request.POST)
    if form.is_valid():
        try:
            actions.change_agreements(request.user, group, form.cleaned_data["texts"])
        except MembershipError as problem:
            messages.error(request, str(problem))
        else:
            messages.success(
                request, "The new agreements are published. Members will be asked to accept them before posting."
            )
            return redirect("groups:detail", slug=slug)
    else:
        flash_form_errors(request, form)
    return redirect("groups:members", slug=slug)
