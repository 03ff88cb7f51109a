"""Classic stored-XSS payloads, saved as messages, a pseudonym and a group's name and description,
render as plain text in headless Chromium: no script runs, no element is injected, and the
Content-Security-Policy never even has to step in."""

import pytest

from chat.actions import post_message
from groups.actions import join_group
from supportcircle.accounts.models import User
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD, session_cookie
from tests.support.servers import Daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss='img'\">",
    '"><svg onload="window.__xss=\'svg\'">',
    '<a href="javascript:window.__xss=\'href\'" id="xss-link">click me</a>',
    "<iframe src=\"javascript:window.__xss='iframe'\"></iframe>",
    "<details open ontoggle=\"window.__xss='details'\">",
    "</textarea><script>window.__xss='textarea'</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__xss='mxss'\">",
    "'';!--\"<XSS>=&{()}",
    "{{ 7|add:7 }} {% now 'Y' %}",
]

# Runs before any page script: records dialogs and any inline code the CSP had to refuse.
WATCH = """
window.__xss = null;
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));
"""


def test_stored_payloads_render_as_text_and_nothing_executes(group, member, second_member, settings):
    from playwright.sync_api import expect, sync_playwright

    settings.CHAT_RATE_LIMIT = (1_000, 10)
    group.name = "Harbour <script>window.__xss='name'</script>"
    group.description = "\n".join(PAYLOADS)
    group.save()
    # The sign-up form would refuse this pseudonym; stored anyway, it must still render as text. (Within
    # the column's 30 characters: PostgreSQL refuses a longer one where SQLite stored it.)
    sly = User.objects.create_user("placeholder", PASSWORD)
    User.objects.filter(pk=sly.pk).update(pseudonym="<img src=x onerror=__xss=1>")
    sly.refresh_from_db()
    join_group(sly, group, accepted_version=group.agreement_version)
    for number, payload in enumerate(PAYLOADS):
        post_message(sly.pk, group.pk, client_id=f"p{number}", body=payload)
    sam_cookie, alex_cookie = session_cookie(member), session_cookie(second_member)

    with Daphne() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        dialogs = []

        def page_for(cookie: str):
            context = browser.new_context()
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": server.http_url}])
            context.add_init_script(WATCH)
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            return page

        sam = page_for(sam_cookie)
        for path in ["/", f"/groups/{group.slug}/", f"/groups/{group.slug}/chat/"]:
            sam.goto(server.http_url + path)
            sam.wait_for_load_state("networkidle")
            assert sam.evaluate("window.__xss") is None, path
            assert sam.evaluate("window.__violations") == [], path
            assert sam.locator("#xss-link").count() == 0, path
        chat = sam.locator("#messages")
        for payload in PAYLOADS:
            expect(chat).to_contain_text(payload)

        # Live: Alex types the payloads; Sam's page renders them through chat.js.
        alex = page_for(alex_cookie)
        alex.goto(f"{server.http_url}/groups/{group.slug}/chat/")
        alex.wait_for_selector("#connection-status:has-text('Connected')")
        sam.wait_for_selector("#connection-status:has-text('Connected')")
        for payload in PAYLOADS[:6]:
            alex.fill("#composer-body", f"live {payload}")
            alex.press("#composer-body", "Enter")
        for payload in PAYLOADS[:6]:
            expect(chat).to_contain_text(f"live {payload}")
        assert sam.evaluate("window.__xss") is None
        assert sam.evaluate("window.__violations") == []
        assert sam.locator("#messages img, #messages svg, #messages iframe, #messages script").count() == 0
        assert dialogs == []
        browser.close()
