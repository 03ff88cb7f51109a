"""Prometheus metrics at /metrics: what the chat does is counted, and only this machine (or a token) reads them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from prometheus_client import REGISTRY

from groups.actions import remove_member
from groups.models import Membership
from supportcircle import metrics
from tests.conftest import connected

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_open_sockets_and_messages_stored_and_delivered_are_counted(channel_layer, group, member, second_member):
    before = {
        "open": value("supportcircle_open_sockets"),
        "stored": value("supportcircle_chat_messages_stored_total"),
        "delivered": value("supportcircle_chat_messages_delivered_total"),
    }
    async with connected(member, group.slug) as sam, connected(second_member, group.slug) as alex:
        assert value("supportcircle_open_sockets") == before["open"] + 2
        await sam.send({"type": "send", "client_id": "m1", "body": "Thank you for listening"})
        await sam.receive_until("ack")
        await alex.receive_until("message")
        await sam.receive_until("message")  # the sender's other tabs get it too, this one included
        assert value("supportcircle_chat_messages_stored_total") == before["stored"] + 1
        assert value("supportcircle_chat_messages_delivered_total") == before["delivered"] + 2
        await sam.send({"type": "send", "client_id": "m1", "body": "Thank you for listening"})  # a resend
        assert (await sam.receive_until("ack"))["duplicate"] is True
        assert value("supportcircle_chat_messages_stored_total") == before["stored"] + 1
    assert value("supportcircle_open_sockets") == before["open"]


async def test_the_servers_close_codes_are_counted_by_code(channel_layer, group, facilitator, member, settings):
    settings.MAX_SOCKETS_PER_PERSON = 1
    too_many = value("supportcircle_socket_closes_total", code="4429")
    ended = value("supportcircle_socket_closes_total", code="4409")
    async with connected(member, group.slug) as sam:
        from tests.conftest import socket_for

        second_tab = await sync_to_async(socket_for)(member, group.slug)
        await second_tab.connect()
        assert (await second_tab.receive_output(3))["type"] == "websocket.close"
        assert value("supportcircle_socket_closes_total", code="4429") == too_many + 1

        membership = await sync_to_async(Membership.objects.get)(user=member, group=group)
        await sync_to_async(remove_member)(facilitator, membership, "Harm to other members.")
        assert await sam.closed_with(5) == 4409
    assert value("supportcircle_socket_closes_total", code="4409") == ended + 1


@pytest.mark.postgresql_only
def test_sql_statements_are_counted_on_postgresql(member):
    from django.db import connection

    assert connection.vendor == "postgresql", "selected only in the PostgreSQL pass (scripts/test.sh)"
    before = value("supportcircle_db_statements_total")
    Membership.objects.filter(user=member).count()
    Membership.objects.filter(user=member).exists()
    assert value("supportcircle_db_statements_total") == before + 2


def scrape(**headers) -> tuple[int, str]:
    response = Client().get("/metrics", **headers)
    return response.status_code, response.content.decode()


def test_metrics_are_read_from_this_machine_straight_from_the_server(settings):
    settings.METRICS_TOKEN = ""
    status, text = scrape()  # the test client comes from 127.0.0.1
    assert status == 200
    assert "# TYPE supportcircle_open_sockets gauge" in text
    assert 'supportcircle_socket_closes_total{code="4408"}' in text


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},  # through nginx, from anywhere
        {"REMOTE_ADDR": "203.0.113.9"},  # straight, from elsewhere
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer not-the-token"},
        {"HTTP_X_FORWARDED_FOR": "127.0.0.1", "HTTP_AUTHORIZATION": "not-the-token"},
    ],
)
def test_metrics_are_not_there_for_anyone_else(settings, headers):
    settings.METRICS_TOKEN = "a-long-scrape-token-for-prometheus-0123456789"
    status, text = scrape(**headers)
    assert status == 404
    assert "supportcircle_" not in text


def test_metrics_are_read_from_anywhere_with_the_token(settings):
    settings.METRICS_TOKEN = "a-long-scrape-token-for-prometheus-0123456789"
    status, text = scrape(
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_AUTHORIZATION="Bearer a-long-scrape-token-for-prometheus-0123456789",
    )
    assert status == 200
    assert "supportcircle_db_statements_total" in text


def test_a_gauge_read_at_scrape_time_shows_its_current_value(settings, group):
    settings.METRICS_TOKEN = ""
    metrics.gauge_read_at_scrape("supportcircle_test_groups", "Groups, for this test.", lambda: 41 + 1)
    try:
        assert "supportcircle_test_groups 42.0" in scrape()[1]
    finally:
        metrics._read_at_scrape.pop("supportcircle_test_groups")


PROCESS = """
import os, sys
from supportcircle import metrics
metrics.socket_opened(); metrics.socket_opened()
metrics.MESSAGES_STORED.inc(3)
metrics.socket_closed_with(4408)
print("ready", flush=True)
if sys.argv[1] == "stay":
    sys.stdin.readline()
"""

READER = """
import django, json
django.setup()
from supportcircle import metrics
print(metrics.exposition().decode())
"""


def test_several_processes_add_up_and_a_killed_ones_open_sockets_stop_counting(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "supportcircle.settings"}
    run = dict(cwd=ROOT, env=env, text=True)
    gone = subprocess.run([sys.executable, "-c", PROCESS, "go"], capture_output=True, timeout=60, **run)
    assert gone.returncode == 0, gone.stderr
    staying = subprocess.Popen(
        [sys.executable, "-c", PROCESS, "stay"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, **run
    )
    try:
        assert staying.stdout.readline().strip() == "ready"
        text = subprocess.run([sys.executable, "-c", READER], capture_output=True, timeout=60, **run).stdout
    finally:
        staying.communicate("\n", timeout=30)
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line[:1] not in ("#", "")}
    assert samples["supportcircle_chat_messages_stored_total"] == 6  # counters of every process, gone or not
    assert samples['supportcircle_socket_closes_total{code="4408"}'] == 2
    assert samples["supportcircle_open_sockets"] == 2  # only the process still running
