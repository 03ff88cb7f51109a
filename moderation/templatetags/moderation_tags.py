import json

from django import template

from moderation.models import ReportReason

register = template.Library()


@register.simple_tag
def report_reasons_json() -> str:
    """The report reasons and their labels, for the chat client's report form (a data- attribute)."""
    return json.dumps(ReportReason.choices)
