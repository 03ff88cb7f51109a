"""LOG_FORMAT=json: one JSON object a line, and the privacy filters still hide an invite link's secret."""

import io
import json
import logging
import sys

import pytest
from django.test import Client

from supportcircle.logs import JSONFormatter
from tests.operations.test_settings_an_operator_can_trust import read

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """What the console handler writes with LOG_FORMAT=json, for Django's request log."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def test_a_refused_invite_link_is_logged_as_json_without_its_secret(json_lines, group, outsider):
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/groups/{group.slug}/invite/guessed-secret-4242/").status_code == 404

    (line,) = json_lines()
    assert line["level"] == "WARNING" and line["logger"] == "django.request"
    assert line["message"] == f"Not Found: /groups/{group.slug}/invite/[hidden]/"
    assert set(line) == {"time", "level", "logger", "message"}  # never the request Django attached
    assert "guessed-secret-4242" not in json.dumps(line)


def test_an_error_carries_its_traceback_in_the_same_line():
    try:
        raise ValueError("a broken thing")
    except ValueError:
        record = logging.LogRecord("chat", logging.ERROR, __file__, 1, "failed %s", ("once",), exc_info=True)
        record.exc_info = sys.exc_info()
    line = json.loads(JSONFormatter().format(record))
    assert line["message"] == "failed once"
    assert "ValueError: a broken thing" in line["exception"]


def test_log_format_json_is_what_the_console_writes():
    logging_config = read({"LOG_FORMAT": "json"}, "LOGGING")["LOGGING"]
    assert logging_config["handlers"]["console"]["formatter"] == "json"
    assert "hide_secret_url_values" in logging_config["loggers"]["django.request"]["filters"]
