import json

from django import template

from moderation.models import ReportReason

register = template.Library()


@register.simple_tag
def report_reasons_json() -> str:
    """The report reasons and their labels, for the chat client's report form (a data- attribute)."""
    return json.dumps(ReportReason.choices)


@register.filter
def noticed(category: str) -> str:
    """A moderation category (``contact``, ``judgment``...) as the plain words the queue uses."""
    from moderation.queue import FOUND_WORDS

    return FOUND_WORDS.get(category, category)
