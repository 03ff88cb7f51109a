"""The console's part of pages that belong to other apps."""

from __future__ import annotations

from django import template

from console.radar_data import radar_for_member

register = template.Library()


@register.inclusion_tag("console/_radar_about_me.html", takes_context=True)
def radar_about_me(context) -> dict:
    """What the facilitators' wellbeing radar would show about the signed-in person, in each of their groups:
    no hidden watching (on the boundaries page)."""
    return {"radar_about_me": radar_for_member(context["request"].user)}
