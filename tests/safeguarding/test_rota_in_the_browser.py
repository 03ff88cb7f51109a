"""No facilitator online: Sam's crisis words reach the rota at once, Morgan's open page shows the banner
(live, as an alert for screen readers) and Quinn, who has no page open, gets an email with only a link;
Morgan says "I've got this" from the banner, the climb stops (no operator is paged), and the alert's page
shows the trail. Headless Chromium against a real daphne, whose mail goes to files."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from groups.actions import create_group, join_group
from groups.models import Membership, MembershipState
from safeguarding.escalation import escalate_due
from safeguarding.models import AlertCase, CaseState, RotaHours, RotaMember, Step
from tests.browser.conftest import browser, expect_connected, page_for, say_in_chat  # noqa: F401
from tests.conftest import make_person
from tests.safeguarding.conftest import CRISIS
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _on_the_rota_all_week(person) -> None:
    member = RotaMember.objects.create(user=person, time_zone="Europe/London")
    for weekday in range(7):
        RotaHours.objects.create(member=member, weekday=weekday, starts=time(0), ends=time(0))


def _mail_in(folder) -> list[str]:
    return [path.read_text() for path in sorted(folder.glob("*.log"))]


def test_an_alert_with_no_facilitator_online_reaches_the_rota_and_stops_when_taken(
    browser,  # noqa: F811
    facilitator,
    member,
    tmp_path,
):
    group = create_group(name="Evening Harbour", facilitators=[facilitator], agreements=["Be kind."])
    join_group(member, group, accepted_version=1)
    # Robin is on a break (set as pause_membership leaves it; its socket notice needs no browser here).
    Membership.objects.filter(user=facilitator, group=group).update(state=MembershipState.PAUSED)
    morgan, quinn = make_person("Morgan", email="morgan@example.org"), make_person("Quinn", email="quinn@example.org")
    _on_the_rota_all_week(morgan)
    _on_the_rota_all_week(quinn)
    make_person("Jordan", email="jordan@example.org", is_staff=True)
    mail = tmp_path / "mail"
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail),
        "SITE_URL": "https://circle.example",
        "SAFEGUARDING_POLL_SECONDS": "2",
    }
    with Daphne(extra_env=env) as server:
        morgans_page = page_for(browser, server, morgan, "/groups/mine/")
        banner = morgans_page.locator("#safeguarding-banner")
        expect(banner).to_be_hidden()
        # Her page asks for the banner every 2 seconds: she counts as connected (a banner, not an email).
        sams_chat = page_for(browser, server, member, f"/groups/{group.slug}/chat/")
        expect_connected(sams_chat)
        say_in_chat(sams_chat, CRISIS)

        expect(banner).to_be_visible(timeout=15_000)
        expect(morgans_page.get_by_role("alert")).to_contain_text("a crisis alert is waiting for a person")
        expect(banner.get_by_role("link", name="A crisis alert in Evening Harbour")).to_be_visible()
        case = AlertCase.objects.get(group=group)
        assert case.step == Step.ROTA  # at once: no active facilitator
        received = _mail_in(mail)
        assert len(received) == 1 and "To: quinn@example.org" in received[0]
        assert f"https://circle.example/safeguarding/alerts/{case.pk}/" in received[0]
        assert "kill" not in received[0] and "Evening Harbour" not in received[0] and "Sam" not in received[0]

        banner.get_by_role("button", name="I've got this").click()
        expect(morgans_page.get_by_role("heading", name="A crisis alert in Evening Harbour")).to_be_visible()
        expect(morgans_page.locator("#handled-by")).to_have_text("Morgan")
        case.refresh_from_db()
        assert (case.state, case.acknowledged_by) == (CaseState.ACKNOWLEDGED, morgan)

        # An hour later the climb would have reached the operators: taken, it never does.
        assert escalate_due(timezone.now() + timedelta(hours=1)) == 0
        assert len(_mail_in(mail)) == 1

        morgans_page.reload()
        trail = morgans_page.locator("#audit-trail li")
        expect(trail).to_have_count(4)
        expect(trail.nth(0)).to_contain_text("Crisis: support lines shown to the member, alert raised")
        expect(trail.nth(1)).to_contain_text("Step skipped: Nobody to page among all of the group's facilitators")
        expect(trail.nth(2)).to_contain_text(
            "Climbed: No active facilitator in the group: paged the safeguarding rota (2 people, 1 by email)"
        )
        expect(trail.nth(3)).to_contain_text("Taken by Morgan")
        expect(morgans_page.get_by_role("heading", name="And you?")).to_be_visible()  # the debrief, for her
        assert morgans_page.problems == [] and sams_chat.problems == []
