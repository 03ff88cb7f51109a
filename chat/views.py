from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from groups.models import Group, Membership

from . import actions
from .errors import ChatAccessDenied
from .protocol import MAX_BODY_CHARS


@login_required
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """The group's chat page; recent history is rendered here so it reads without JavaScript."""
    group = get_object_or_404(Group, slug=slug)
    try:
        access = actions.open_chat(request.user, slug)
    except ChatAccessDenied:
        messages.info(request, "The chat is for members of this group. You can read about the group and join here.")
        return redirect("groups:detail", slug=slug)
    history = actions.recent_history(access.user_id, access.group_id)
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
        },
    )
