from django import template

from groups.models import ContentLabel

register = template.Library()


@register.filter
def content_label(value: str) -> str:
    """A content-warning label as people read it: "self_harm" -> "Self-harm"."""
    try:
        return ContentLabel(value).label
    except ValueError:
        return value
