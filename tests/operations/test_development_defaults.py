"""What a newcomer meets with `make run`: told DEBUG is on and how to turn it off, the site's own page for a wrong
address even so, and a README that says how to choose the port."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_a_wrong_address_shows_the_sites_own_page_even_with_debug_on(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "We couldn't find that page" in html
    assert "DEBUG = True" not in html and "URLconf" not in html


def test_debug_technical_404_brings_djangos_page_back_for_whoever_wants_it(client, settings):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_404 = True
    assert "DEBUG = True" in client.get("/no-such-page/").content.decode()


def test_without_debug_a_wrong_address_shows_the_same_kind_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_the_server_error_page_needs_no_request_and_says_it_was_not_them():
    html = render_to_string("500.html")
    assert "It wasn't anything you did" in html and "findahelpline.com" in html


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_says_it_runs_with_debug_on_and_how_to_turn_it_off():
    dry_run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "It runs with DEBUG on, for development only" in dry_run
    assert "DEBUG=false make run" in dry_run


def test_the_readme_says_how_to_choose_the_port_and_host():
    readme = (ROOT / "README.md").read_text()
    assert "PORT=8080 make run" in readme and "HOST=0.0.0.0" in readme
