"""Each person's own pages: their boundaries and their private messages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from supportcircle.accounts.models import User
from supportcircle.security import log_refusal

from . import actions
from .errors import AskFirst, BoundaryError
from .forms import BoundarySettingsForm, DirectMessageForm, DirectMessageRequestForm, PersonForm
from .models import (
    BoundarySettings,
    DirectMessageRequest,
    DirectMessageRequestState,
)
from .views import flash_form_errors


@login_required
def boundaries(request: HttpRequest) -> HttpResponse:
    settings = BoundarySettings.objects.filter(user=request.user).first() or BoundarySettings(user=request.user)
    if request.method == "POST":
        form = BoundarySettingsForm(request.POST)
        if form.is_valid():
            try:
                actions.update_boundary_settings(request.user, **form.cleaned_data)
            except BoundaryError as problem:
                form.add_error(None, str(problem))
            else:
                messages.success(request, "Your boundaries are saved. They apply straight away, in every group.")
                return redirect("groups:boundaries")
    else:
        form = BoundarySettingsForm(
            initial={
                "dm_policy": settings.dm_policy,
                "collapsed_labels": settings.collapsed_labels,
                "here_to_be_heard": settings.here_to_be_heard,
            }
        )
    people = actions.people_i_may_block(request.user)
    return render(
        request,
        "groups/boundaries.html",
        {
            "form": form,
            "person_form": PersonForm(people=people),
            "blocked": User.objects.filter(blocks_received__blocker=request.user).order_by("pseudonym"),
            "muted": User.objects.filter(mutes_received__muter=request.user).order_by("pseudonym"),
        },
        status=400 if form.errors else 200,
    )


BOUNDARY_ACTIONS = {
    "block": (actions.block_member, "You've blocked {name}. Neither of you will see the other from now on."),
    "unblock": (actions.unblock_member, "You've unblocked {name}."),
    "mute": (actions.mute_member, "You've muted {name}. Their messages will arrive collapsed, for you only."),
    "unmute": (actions.unmute_member, "You've unmuted {name}."),
}


@login_required
@require_POST
def boundary_action(request: HttpRequest, verb: str) -> HttpResponse:
    if verb not in BOUNDARY_ACTIONS:
        raise Http404
    action, done = BOUNDARY_ACTIONS[verb]
    if verb in ("block", "mute"):
        people = actions.people_i_may_block(request.user)
    else:
        # Someone I blocked may since have left every group we shared; I can still unblock them.
        people = User.objects.exclude(pk=request.user.pk)
    form = PersonForm(request.POST, people=people)
    if not form.is_valid():
        _log_someone_out_of_reach(request, form)
        flash_form_errors(request, form)
        return redirect("groups:boundaries")
    person = form.cleaned_data["person"]
    try:
        action(request.user, person)
    except BoundaryError as problem:
        log_refusal(request, problem.reason)
        messages.error(request, str(problem))
    else:
        messages.success(request, done.format(name=person.pseudonym))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("groups:boundaries")


# Private messages -------------------------------------------------------------


def _log_someone_out_of_reach(request: HttpRequest, form) -> None:
    """A person the form didn't offer (no shared group or private conversation) is a refusal, not a typo."""
    if form.has_error("person", code="invalid_choice"):
        log_refusal(request, "not_in_a_shared_group")


def _requestable(user: User):
    return actions.people_i_share_groups_with(user)


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """My conversations, requests waiting for my answer, and requests I sent (always shown simply as sent)."""
    mine = Q(from_user=request.user) | Q(to_user=request.user)
    conversations = DirectMessageRequest.objects.filter(mine, state=DirectMessageRequestState.ACCEPTED).select_related(
        "from_user", "to_user"
    )
    waiting = DirectMessageRequest.objects.filter(
        to_user=request.user, state=DirectMessageRequestState.REQUESTED
    ).select_related("from_user")
    hidden = actions.hidden_people(request.user)
    sent = (
        DirectMessageRequest.objects.filter(from_user=request.user)
        .exclude(state=DirectMessageRequestState.ACCEPTED)
        .select_related("to_user")
    )
    return render(
        request,
        "groups/inbox.html",
        {
            "conversations": [
                (c, c.other(request.user)) for c in conversations if c.other(request.user).pk not in hidden
            ],
            "waiting": [r for r in waiting if r.from_user_id not in hidden],
            "sent": sent,
            "form": DirectMessageRequestForm(people=_requestable(request.user)),
        },
    )


@login_required
@require_POST
def request_conversation(request: HttpRequest) -> HttpResponse:
    form = DirectMessageRequestForm(request.POST, people=_requestable(request.user))
    if not form.is_valid():
        _log_someone_out_of_reach(request, form)
        flash_form_errors(request, form)
        return redirect("groups:inbox")
    try:
        reply = actions.request_direct_message(request.user, form.cleaned_data["person"], form.cleaned_data["note"])
    except BoundaryError as problem:
        messages.error(request, str(problem))
    else:
        messages.info(request, reply)
    return redirect("groups:inbox")


@login_required
@require_POST
def answer_request(request: HttpRequest, request_id: int, verb: str) -> HttpResponse:
    try:
        if verb == "accept":
            answered = actions.accept_direct_message_request(request.user, request_id)
            messages.success(request, f"You can now talk privately with {answered.from_user.pseudonym}.")
            return redirect("groups:conversation", conversation_id=answered.pk)
        if verb == "decline":
            actions.decline_direct_message_request(request.user, request_id)
            messages.info(request, "Declined. They won't be told; their request simply stays unanswered for them.")
        else:
            raise Http404
    except BoundaryError as problem:
        log_refusal(request, problem.reason)
        messages.error(request, str(problem))
    return redirect("groups:inbox")


@login_required
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """An accepted private conversation. Only its two people can open it; facilitators cannot."""
    thread = actions.conversation_for(request.user, conversation_id)
    if thread is None:
        raise Http404
    form = DirectMessageForm(request.POST or None)
    asked_first = False
    care_card = None
    if request.method == "POST" and form.is_valid():
        try:
            sent = actions.send_direct_message(
                request.user, thread.pk, form.cleaned_data["body"], send_anyway=form.cleaned_data["send_anyway"]
            )
        except AskFirst as question:
            asked_first = True
            form.add_error(None, str(question))
        except BoundaryError as problem:
            log_refusal(request, problem.reason)
            form.add_error(None, str(problem))
        else:
            if sent.care_card is None:
                return redirect("groups:conversation", conversation_id=thread.pk)
            care_card = sent.care_card  # shown at once, above the conversation
            form = DirectMessageForm()
    other = thread.other(request.user)
    closed = actions.blocked_between(request.user.pk, other.pk)
    return render(
        request,
        "groups/conversation.html",
        {
            "thread": thread,
            "other": other,
            "closed": closed,
            "messages_list": [] if closed else thread.messages.select_related("author"),
            "form": form,
            "asked_first": asked_first,
            "care_card": care_card,
        },
        status=400 if form.errors and not asked_first else 200,
    )
