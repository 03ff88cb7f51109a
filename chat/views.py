from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_safe

from groups.boundaries import load_boundaries
from supportcircle.security import log_refusal

from . import actions
from . import room as room_practices
from .errors import ChatAccessDenied
from .opening import room_at_connect
from .protocol import (
    MAX_BODY_CHARS,
    MAX_FEELINGS,
    MAX_INT,
    MAX_NOTE_CHARS,
    MAX_SLOW_MODE_SECONDS,
    CloseCode,
    ErrorCode,
    error_frame,
)

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
@require_safe
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """The group's chat page; recent history is rendered here so it reads without JavaScript.

    It reads what the socket's welcome reads (chat.opening), in as few statements: the group with the
    membership, the boundaries, the history, and what the room has at all."""
    try:
        access = actions.open_chat(request.user, slug)
    except ChatAccessDenied as denied:
        if denied.code == CloseCode.GROUP_NOT_FOUND:
            raise Http404("No such group") from denied
        log_refusal(request, denied.code.name.lower())
        messages.info(request, "The chat is for members of this group. You can read about the group and join here.")
        return redirect("groups:detail", slug=slug)
    boundaries = load_boundaries(access.user_id)
    history = actions.recent_history(access.user_id, access.group_id, boundaries=boundaries)
    known = room_at_connect(access.user_id, access.group_id)
    snapshot = room_practices.room_snapshot(access.user_id, access.group_id, boundaries, known=known)
    return render(
        request,
        "chat/room.html",
        {
            "access": access,
            "history": history,
            "max_body": MAX_BODY_CHARS,
            "snapshot": snapshot,
            "new_from_seq": _first_unread(history, snapshot["last_read_seq"], access.user_id),
            "max_feelings": MAX_FEELINGS,
            "max_note": MAX_NOTE_CHARS,
            "slow_mode_choices": SLOW_MODE_CHOICES,
        },
    )


# Why the HTTP history refused, in the words the chat page would use.
_HISTORY_REFUSALS = {
    CloseCode.NOT_LOGGED_IN: (401, "Please log in to read this conversation."),
    CloseCode.GROUP_NOT_FOUND: (404, "We couldn't find that group. It may have been renamed or closed."),
}
_NOT_FOR_YOU = (403, "This conversation is for members of the group. You can read about the group on its page.")


# A malformed after_seq, in words that say what to send instead.
_BAD_AFTER_SEQ = (
    "We couldn't tell where to start reading. Send after_seq as a whole number (the seq of the last message "
    "you have), or leave it out for the latest messages."
)


@require_GET
def history(request: HttpRequest, slug: str) -> JsonResponse:
    """The conversation as JSON, one page at a time: the same ``history`` frame a socket gets.

    Without ``after_seq``, the latest messages (as on opening the chat); with it, the page after
    that number, so a client without a socket, or one reading further back, needs no socket.
    A malformed ``after_seq`` is refused before anything is read, whoever asks (the answer says
    nothing about the group or the person). Whether this person may read is decided on the
    statement that reads the page.
    """
    raw = request.GET.get("after_seq")
    # Digits 0-9 only ("²" is a digit to Python), and no more than a sequence number can hold.
    if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_INT):
        return JsonResponse(
            error_frame(ErrorCode.INVALID_FIELD, detail="after_seq", message=_BAD_AFTER_SEQ), status=400
        )
    try:
        page = actions.read_history(request.user, slug, int(raw) if raw is not None else None)
    except ChatAccessDenied as denied:
        log_refusal(request, denied.code.name.lower())
        status, message = _HISTORY_REFUSALS.get(denied.code, _NOT_FOR_YOU)
        return JsonResponse({"type": "error", "code": denied.code.name.lower(), "message": message}, status=status)
    return JsonResponse(page)
