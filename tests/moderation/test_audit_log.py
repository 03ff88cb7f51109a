"""Every automated and human moderation action is in the log: who, what, which agreement, when.
Never the words; read-only; readable by the group's facilitators and staff only."""

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from chat.actions import post_message
from groups.actions import create_group
from moderation import actions
from moderation.models import AuditEntry, Report
from tests.conftest import make_person
from tests.moderation.scene import agreement

pytestmark = pytest.mark.django_db

SECRET_WORDS = "Text me on 07700 900123, my name is Jamie Rivers."


def log_page(user, slug: str):
    client = Client()
    client.force_login(user)
    return client.get(f"/groups/{slug}/moderation/log/")


def test_automated_and_human_actions_are_logged_with_their_agreement_and_never_the_words(
    circle, member, second_member, facilitator
):
    stay_here = agreement(circle, "stay_here")
    curiosity = agreement(circle, "curiosity")
    held = post_message(member.pk, circle.pk, client_id="a-1", body=SECRET_WORDS).message
    actions.hide_message(facilitator, circle, seq=held.seq, agreement_number=stay_here.number, note="Contact details")
    seq = post_message(member.pk, circle.pk, client_id="a-2", body="Hi").message.seq
    report = actions.report_message(second_member.pk, circle.pk, seq=seq, reason="other", note="Jamie Rivers said")
    actions.resolve_report(facilitator, circle, report_id=report.pk, outcome="We've talked.")
    actions.warn_member(facilitator, circle, user_id=member.pk, agreement_number=curiosity.number)
    actions.time_out_member(facilitator, circle, user_id=member.pk, minutes=10)

    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.kind, e.actor_id, e.agreement_number) for e in entries] == [
        ("moderation.message.held", None, stay_here.number),
        ("moderation.message.hidden", facilitator.pk, stay_here.number),
        ("moderation.report.filed", second_member.pk, None),
        ("moderation.report.resolved", facilitator.pk, None),
        ("moderation.member.warned", facilitator.pk, curiosity.number),
        ("moderation.member.timed_out", facilitator.pk, None),
    ]
    assert entries[0].agreement_text == stay_here.text
    for entry in entries:
        assert "Jamie" not in entry.note and "07700" not in entry.note

    page = log_page(facilitator, circle.slug).content.decode()
    assert "Automatic" in page and "Held for review" in page
    assert f"Agreement {stay_here.number}: {stay_here.text}" in page
    assert "Jamie" not in page and "07700" not in page


def test_the_log_is_for_this_groups_facilitators_and_staff(circle, member, outsider):
    other = create_group(name="Elsewhere", facilitators=[make_person("Morgan")], agreements=["Be kind."])
    morgan = other.memberships.get().user
    assert log_page(member, circle.slug).status_code == 403
    assert log_page(outsider, circle.slug).status_code == 403
    assert log_page(morgan, circle.slug).status_code == 403
    assert log_page(make_person("Staff", is_staff=True), circle.slug).status_code == 200


def test_the_log_page_offers_no_way_to_change_it(circle, facilitator):
    client = Client()
    client.force_login(facilitator)
    assert client.post(f"/groups/{circle.slug}/moderation/log/").status_code == 405
    assert "<form" not in log_page(facilitator, circle.slug).content.decode().split("<main", 1)[1]


@pytest.mark.parametrize("model", [AuditEntry, Report])
def test_staff_can_read_but_not_change_the_log_or_reports_in_the_admin(model):
    request = RequestFactory().get("/admin/")
    request.user = make_person("Admin", is_staff=True, is_superuser=True)
    model_admin = admin.site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
