import json

from django import template
from django.conf import settings

from moderation.models import ReportReason

register = template.Library()


@register.simple_tag
def report_reasons_json() -> str:
    """The report reasons and their labels, for the chat client's report form (a data- attribute)."""
    return json.dumps(ReportReason.choices)


@register.inclusion_tag("moderation/_care_links.html")
def care_links() -> dict:
    """Support lines one step away, and a quick exit, on every chat page (docs/moderation.md)."""
    return {"quick_exit_url": settings.QUICK_EXIT_URL}


@register.filter
def noticed(category: str) -> str:
    """A moderation category (``contact``, ``judgment``...) as the plain words the queue uses."""
    from moderation.queue import FOUND_WORDS

    return FOUND_WORDS.get(category, category)
