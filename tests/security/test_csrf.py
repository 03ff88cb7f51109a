"""Every view refuses a POST without a CSRF token (generated from the URL conf: new views are covered)."""

import pytest
from django.test import Client

from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("route", routes(), ids=lambda route: route.name or route.template)
def test_a_post_without_a_csrf_token_is_refused(route, facilitator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(facilitator)
    response = client.post(route.dummy_url(), {"anything": "at all"})
    # 403: the CSRF check refused it before the view ran. Never a 2xx or a redirect (a change made).
    assert response.status_code == 403, (route.template, response.status_code)


def test_the_admin_refuses_a_post_without_a_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
