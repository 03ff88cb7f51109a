from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from groups.boundaries import load_boundaries
from groups.models import ContentLabel, Group, Membership

from . import actions
from . import room as room_practices
from .errors import ChatAccessDenied
from .protocol import FEELINGS, MAX_BODY_CHARS, MAX_FEELINGS, MAX_NOTE_CHARS, MAX_SLOW_MODE_SECONDS, NEEDS

# What a facilitator can choose for slow mode on the chat page (the protocol allows any 0..600).
SLOW_MODE_CHOICES = [(0, "Off"), (10, "10 seconds"), (30, "30 seconds"), (60, "1 minute"), (120, "2 minutes")]
assert all(seconds <= MAX_SLOW_MODE_SECONDS for seconds, _ in SLOW_MODE_CHOICES)


def _first_unread(history: dict, last_read: int, me: int) -> int | None:
    """The seq before which the page shows "New since you were last here" (never for a first visit)."""
    if not last_read:
        return None
    for message in history["messages"]:
        if message["seq"] > last_read and message["author"]["id"] != me:
            return message["seq"]
    return None


@login_required
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """The group's chat page; recent history is rendered here so it reads without JavaScript."""
    group = get_object_or_404(Group, slug=slug)
    try:
        access = actions.open_chat(request.user, slug)
    except ChatAccessDenied:
        messages.info(request, "The chat is for members of this group. You can read about the group and join here.")
        return redirect("groups:detail", slug=slug)
    boundaries = load_boundaries(access.user_id)
    history = actions.recent_history(access.user_id, access.group_id, boundaries=boundaries)
    snapshot = room_practices.room_snapshot(access.user_id, access.group_id, boundaries)
    membership = Membership.objects.get(user=request.user, group=group)
    return render(
        request,
        "chat/room.html",
        {
            "group": group,
            "access": access,
            "membership": membership,
            "history": history,
            "max_body": MAX_BODY_CHARS,
            "snapshot": snapshot,
            "new_from_seq": _first_unread(history, snapshot["last_read_seq"], access.user_id),
            "content_labels": ContentLabel.choices,
            "feelings": FEELINGS.items(),
            "needs": NEEDS.items(),
            "max_feelings": MAX_FEELINGS,
            "max_note": MAX_NOTE_CHARS,
            "slow_mode_choices": SLOW_MODE_CHOICES,
        },
    )
