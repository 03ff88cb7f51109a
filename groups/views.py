from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import actions
from .errors import MembershipError
from .forms import JoinForm
from .models import Group, Membership, Role, Topic, Visibility


def directory(request: HttpRequest) -> HttpResponse:
    groups = Group.objects.filter(visibility=Visibility.LISTED)
    query = request.GET.get("q", "").strip()[:100]
    topic = request.GET.get("topic", "")
    if query:
        groups = groups.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if topic in Topic.values:
        groups = groups.filter(topic=topic)
    mine: dict[int, Membership] = {}
    if request.user.is_authenticated:
        mine = {m.group_id: m for m in Membership.objects.filter(user=request.user)}
    return render(
        request,
        "groups/directory.html",
        {
            "rows": [(group, mine.get(group.pk)) for group in groups],
            "query": query,
            "topic": topic,
            "topics": Topic.choices,
        },
    )


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    membership = None
    if request.user.is_authenticated:
        membership = Membership.objects.filter(user=request.user, group=group).first()
    facilitators = [
        m.user
        for m in group.memberships.filter(role=Role.FACILITATOR).select_related("user").order_by("user__pseudonym")
    ]
    form = JoinForm(initial={"version": group.agreement_version})
    return render(
        request,
        "groups/detail.html",
        {
            "group": group,
            "agreements": group.current_agreements(),
            "membership": membership,
            "facilitators": facilitators,
            "form": form,
        },
    )


@login_required
@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    form = JoinForm(request.POST)
    if form.is_valid():
        try:
            actions.join_group(request.user, group, accepted_version=form.cleaned_data["version"])
        except MembershipError as problem:
            form.add_error(None, str(problem))
        else:
            messages.success(request, f"Welcome to {group.name}. Thank you for accepting the agreements.")
            return redirect("chat:room", slug=group.slug)
    membership = Membership.objects.filter(user=request.user, group=group).first()
    return render(
        request,
        "groups/detail.html",
        {"group": group, "agreements": group.current_agreements(), "membership": membership, "form": form},
        status=400,
    )


@login_required
@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    if Membership.objects.filter(user=request.user, group=group).exists():
        actions.leave_group(request.user, group)
        messages.info(request, f"You've left {group.name}. You're welcome back any time.")
    return redirect("groups:detail", slug=slug)
