"""The banner every signed-in page of a facilitator, rota member or operator carries (from base.html), and
the console's list of its group's alerts with who has each."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from groups.models import Membership, MembershipState, Role

from ..models import AlertCase, CaseState, RotaMember

register = template.Library()


def may_be_paged(user) -> bool:
    """Whether this person could ever be asked to take an alert: staff, an active facilitator of a group,
    or on the rota. One plain statement, since every signed-in page asks (the ORM's two ``exists()``
    cost more to build than to run)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    quote = connection.ops.quote_name
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {quote(Membership._meta.db_table)} "  # noqa: S608  # nosec B608
        "WHERE user_id = %s AND role = %s AND state = %s) "
        f"OR EXISTS (SELECT 1 FROM {quote(RotaMember._meta.db_table)} WHERE user_id = %s AND is_active)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, Role.FACILITATOR.value, MembershipState.ACTIVE.value, user.pk])
        return bool(cursor.fetchone()[0])


@register.simple_tag(takes_context=True)
def safeguarding_banner(context) -> str:
    """The banner, for someone who may be paged; nothing for everyone else. Most signed-in pages are seen by
    people who are never paged, and an inclusion tag would draw its template (empty) for each of them."""
    try:
        show = may_be_paged(context.get("user"))
    except DatabaseError:  # a page (a 404, say) still renders while the database is away; the banner comes back
        show = False
    if not show:
        return ""
    banner = context.template.engine.get_template("safeguarding/_banner.html")
    # As an inclusion tag would: a context of its own that carries the page's CSRF token.
    values = {"poll_seconds": settings.SAFEGUARDING_POLL_SECONDS, "csrf_token": context.get("csrf_token")}
    return banner.render(context.new(values))


@register.inclusion_tag("safeguarding/_console_alerts.html", takes_context=True)
def alerts_in_hand(context, group) -> dict:
    """The group's crisis alerts of the last week that are not closed: their state, and who has each."""
    since = timezone.now() - timedelta(days=7)
    cases = (
        AlertCase.objects.filter(group=group, raised_at__gte=since)
        .exclude(state=CaseState.CLOSED)
        .select_related("acknowledged_by")
        .order_by("-raised_at")[:20]
    )
    return {"cases": cases, "user": context.get("user")}
