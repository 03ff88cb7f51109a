"""The facilitator console and the session summary: pages for a group's facilitators only.

Thin views: the live parts of the console come over the group socket (console.frames);
state changes are in console.live; the summary's numbers and charts in console.summary.
"""

from __future__ import annotations

import csv
import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from chat.protocol import (
    DEFAULT_BREATHE_PROMPT,
    FEELINGS,
    MAX_BREATHE_SECONDS,
    MAX_NOTE_CHARS,
    MIN_BREATHE_SECONDS,
    NEEDS,
)
from groups.actions import require_facilitator
from groups.models import Group, LiveSession

from . import summary as summaries
from .live import CHECK_IN_WORDS, KIND_CHECK_IN


@login_required
@require_GET
def console(request: HttpRequest, slug: str) -> HttpResponse:
    """One calm page for running a live session: roster, conversation, room controls, queue and radar."""
    group = get_object_or_404(Group, slug=slug)
    require_facilitator(request.user, group)
    past = LiveSession.objects.filter(group=group, ended_at__isnull=False)[:5]
    return render(
        request,
        "console/console.html",
        {
            "group": group,
            "past_sessions": past,
            "breathe_prompt": DEFAULT_BREATHE_PROMPT,
            "min_breathe": MIN_BREATHE_SECONDS,
            "max_breathe": MAX_BREATHE_SECONDS,
            "kind_check_in": KIND_CHECK_IN,
            "check_in_words": json.dumps(CHECK_IN_WORDS),
            "max_note": MAX_NOTE_CHARS,
            "vocabulary": json.dumps({"feelings": FEELINGS, "needs": NEEDS}),
        },
    )


def _session(request: HttpRequest, slug: str, session_id: int) -> LiveSession:
    group = get_object_or_404(Group, slug=slug)
    require_facilitator(request.user, group)
    return get_object_or_404(LiveSession.objects.select_related("group"), pk=session_id, group=group)


@login_required
@require_GET
def session_summary(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    session = _session(request, slug, session_id)
    summary = summaries.summarize_session(session)
    return render(
        request,
        "console/summary.html",
        {
            "group": session.group,
            "session": session,
            "summary": summary,
            "retention_days": session.group.checkin_retention_days,
        },
    )


@login_required
@require_GET
def session_chart(request: HttpRequest, slug: str, session_id: int, chart: str) -> HttpResponse:
    if chart not in summaries.CHARTS:
        raise Http404("No such chart.")
    session = _session(request, slug, session_id)
    svg = summaries.CHARTS[chart](summaries.summarize_session(session))
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def session_export(request: HttpRequest, slug: str, session_id: int, fmt: str) -> HttpResponse:
    """The summary as a file, without a word anyone wrote."""
    session = _session(request, slug, session_id)
    data = summaries.summarize_session(session).to_export()
    filename = f"{session.group.slug}-session-{session.pk}"
    if fmt == "json":
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
    elif fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        writer = csv.writer(response)
        writer.writerow(["section", "name", "value", "arrived_at", "left_at"])
        writer.writerow(["session", "started_at", data["started_at"], "", ""])
        writer.writerow(["session", "ended_at", data["ended_at"] or "", "", ""])
        for person in data["attendance"]:
            writer.writerow(
                ["attendance", person["pseudonym"], person["minutes"], person["arrived_at"], person["left_at"] or ""]
            )
        writer.writerow(["checkins", "people", data["checkins"], "", ""])
        for key, count in data["feelings"].items():
            writer.writerow(["feeling", key, count, "", ""])
        for key, count in data["needs"].items():
            writer.writerow(["need", key, count, "", ""])
        for held in data["rounds"]:
            writer.writerow(["round", held["kind"], held["answers"], held["opened_at"], held["closed_at"] or ""])
        for label, count in data["moderation"].items():
            writer.writerow(["moderation", label, count, "", ""])
    else:
        raise Http404("No such format.")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def console_url(group: Group) -> str:
    return reverse("console:console", args=[group.slug])
