"""What every chat page shows alike (the site's links, the stylesheets and scripts, the care links) is
made once per process and kept (Django's cache tag); what is someone's own (their pseudonym, their
CSRF token, the group, the conversation) is made for each page."""

import re

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

# Where the cache tag keeps fragments (settings.CACHES): this process's own memory.
cache = caches["template_fragments"]


def chat_page(person, slug: str) -> str:
    client = Client()
    client.force_login(person)
    response = client.get(f"/groups/{slug}/chat/")
    assert response.status_code == 200
    return response.content.decode()


def csrf_token_in(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_fragments_are_kept_in_this_processs_memory():
    assert type(cache).__name__ == "LocMemCache"


def test_each_person_sees_their_own_name_and_token_on_the_shared_page(group, member, second_member):
    cache.clear()
    sams, alexs = chat_page(member, group.slug), chat_page(second_member, group.slug)
    assert f">{member.pseudonym}</a>" in sams and f">{second_member.pseudonym}</a>" not in sams
    assert f">{second_member.pseudonym}</a>" in alexs and f">{member.pseudonym}</a>" not in alexs
    assert csrf_token_in(sams) != csrf_token_in(alexs)


def test_the_shared_parts_are_kept_and_served_to_the_next_page(group, member, second_member):
    cache.clear()
    chat_page(member, group.slug)
    kept = {key for key in cache._cache}  # noqa: SLF001 (the local-memory cache's own keys)
    # The site's head and links; the chat's stylesheet, care links, boundaries link and scripts.
    assert len(kept) == 6, kept
    page = chat_page(second_member, group.slug)
    assert {key for key in cache._cache} == kept  # noqa: SLF001
    for shared in (reverse("groups:mine"), reverse("moderation:support_lines"), "js/chat-room", "css/app"):
        assert shared in page


def test_a_signed_out_page_never_gets_the_signed_in_links(client, member, group):
    cache.clear()
    chat_page(member, group.slug)  # the signed-in links are kept first
    page = client.get(reverse("login")).content.decode()
    assert reverse("groups:mine") not in page and reverse("groups:inbox") not in page
    assert "Log in" in page and "Sign up" in page
