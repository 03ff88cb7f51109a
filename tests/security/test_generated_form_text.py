"""Whatever text arrives in a form field, the person gets the page or a form error: never a server
error, and nothing that cannot be stored as UTF-8 is kept.

The generator is the socket's (tests/security/generated.py: the whole of Unicode, lone surrogates
and NUL included), sent as a browser or a hostile client would: percent-encoded bytes, here
``surrogatepass`` so a lone surrogate arrives as the invalid UTF-8 it would be. It goes into each
string field of the POST an authorised person sends to every view that takes one
(tests/security/test_post_authorization_matrix.py), and into the search box.
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportcircle.text import storable_text
from tests.security.generated import any_text, awkward_text
from tests.security.test_post_authorization_matrix import (  # noqa: F401 (the scene fixture)
    POST_EXPECTED,
    client_for,
    everything,
    rolled_back,
    scene,
    url_for,
)

pytestmark = pytest.mark.django_db

# Each view's first role whose POST is carried out: their form is the one fuzzed.
AUTHORISED = {
    route: next(role for role, outcome in case.expected.items() if outcome == "done")
    for route, case in sorted(POST_EXPECTED.items())
    if "done" in case.expected.values()
}
EXAMPLES = 150


def encoded(data: dict) -> bytes:
    def part(value) -> bytes:
        text = value if isinstance(value, str) else str(value)
        return quote_from_bytes(text.encode("utf-8", "surrogatepass")).encode()

    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append(part(name) + b"=" + part(item))
    return b"&".join(pairs)


def unstorable(rows: dict[str, list]) -> list[str]:
    return [
        f"{label}: {value!r}"
        for label, table in rows.items()
        for row in table
        for value in row
        if isinstance(value, str) and not storable_text(value)
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_text_in_any_form_field_gets_the_page_or_a_form_error(scene, data):  # noqa: F811 (the fixture)
    route = data.draw(st.sampled_from(sorted(AUTHORISED)), label="view")
    case = POST_EXPECTED[route]
    person = scene.people[AUTHORISED[route]]
    with rolled_back():
        client = client_for(person)
        if case.prepare:
            case.prepare(scene, client)
        form = case.data(scene, person)
        text_fields = sorted(name for name, value in form.items() if isinstance(value, str))
        if not text_fields:
            return
        field = data.draw(st.sampled_from(text_fields), label="field")
        form[field] = data.draw(any_text | awkward_text, label="text")
        url = url_for(route, scene, case.values(scene))
        response = client.post(url, encoded(form), content_type="application/x-www-form-urlencoded")
        assert response.status_code in (200, 302, 400, 403, 404), (route, field, response.status_code)
        assert unstorable(everything()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=any_text | awkward_text)
def test_any_text_in_the_search_box_gets_the_directory(client, group, text):
    query = quote_from_bytes(text.encode("utf-8", "surrogatepass"))
    response = client.get(f"/?q={query}")
    assert response.status_code == 200


def test_a_search_that_cannot_be_read_says_so(client, group):
    response = client.get("/?q=calm%00harbour")
    assert response.status_code == 200
    assert "That search has a character we can&#x27;t read" in response.content.decode()
