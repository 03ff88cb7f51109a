from django import template

from ..report import minutes

register = template.Library()


@register.filter
def as_minutes(seconds):
    return minutes(seconds)
