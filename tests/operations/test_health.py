"""/healthz says the process is alive; /readyz says whether it can serve, check by check."""

import uuid

import pytest
import redis
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

from supportcircle.operations import views
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_asking_the_database():
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert len(queries) == 0
    assert "no-cache" in response["Cache-Control"]


async def test_readyz_is_ready_when_the_database_the_channel_layer_and_migrations_are(channel_layer):
    response = await AsyncClient().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "channel_layer": "ok", "migrations": "ok"},
    }


async def test_readyz_leaves_no_subscription_behind_in_redis(settings):
    from tests.conftest import require_redis

    require_redis()
    prefix = f"readyz-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": prefix},
        }
    }
    for _ in range(3):
        assert (await AsyncClient().get("/readyz")).status_code == 200
    assert redis.Redis.from_url(REDIS_URL).pubsub_channels(f"{prefix}*") == []
    from channels.layers import get_channel_layer

    await get_channel_layer().flush()


async def test_readyz_is_not_ready_while_redis_cannot_be_reached(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}], "prefix": "nowhere"},
        }
    }
    response = await AsyncClient().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"].startswith("failed: ")
    assert "127.0.0.1" not in response.content.decode()  # the kind of failure, never the address


@pytest.mark.django_db(transaction=True)
def test_readyz_is_not_ready_while_a_migration_waits(monkeypatch):
    monkeypatch.setattr(views, "_migrations_applied", False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, applied FROM django_migrations WHERE app = 'operations'")
        applied = cursor.fetchall()
        cursor.execute("DELETE FROM django_migrations WHERE app = 'operations'")
    try:
        response = Client().get("/readyz")
    finally:
        with connection.cursor() as cursor:
            for name, at in applied:
                cursor.execute(
                    "INSERT INTO django_migrations (app, name, applied) VALUES ('operations', %s, %s)", [name, at]
                )
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"
    assert Client().get("/readyz").status_code == 200  # and ready again once it is applied
