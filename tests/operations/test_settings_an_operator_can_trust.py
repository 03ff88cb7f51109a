"""Settings read from the environment refuse what they cannot read, and pass through what they can."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from supportcircle.settings import database_from_url

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "REDIS_SENTINELS", "SUPPORTCIRCLE_ENV", "DEBUG", "SECRET_KEY"}
SERVICE_VARIABLES |= {"FAST_PASSWORD_HASHER"}  # the suite's own, for the servers it starts


def settings_in_a_new_process(env: dict[str, str], *names: str) -> subprocess.CompletedProcess:
    """Start Django's settings as a server process would, with ``env``; print the named settings as JSON."""
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    clean.update(env)
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "supportcircle.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def read(env: dict[str, str], *names: str) -> dict:
    result = settings_in_a_new_process(env, *names)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("typo", ["prodution", "Production", "prod", "staging"])
def test_an_unknown_environment_name_stops_the_start_instead_of_running_as_development(typo):
    result = settings_in_a_new_process({"SUPPORTCIRCLE_ENV": typo}, "DEBUG")
    assert result.returncode != 0
    assert "SUPPORTCIRCLE_ENV must be one of development, production" in result.stderr
    assert repr(typo) in result.stderr


def test_the_database_url_carries_tls_and_timeout_options_to_psycopg():
    entry = database_from_url(
        "postgres://sc:s%40cret@db.example.org:5432/supportcircle"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem&connect_timeout=5&application_name=web"
    )
    assert entry["PASSWORD"] == "s@cret"
    given = {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/db-ca.pem",
        "connect_timeout": "5",
        "application_name": "web",
    }
    assert {key: entry["OPTIONS"].get(key) for key in given} == given


def test_a_pgbouncer_in_transaction_pooling_gets_no_server_side_cursors_and_no_prepared_statements():
    entry = database_from_url("postgres://sc@127.0.0.1:6432/supportcircle?pgbouncer=transaction")
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "prepare_threshold" in entry["OPTIONS"] and entry["OPTIONS"]["prepare_threshold"] is None
    assert entry["CONN_MAX_AGE"] > 0  # connections to PgBouncer itself may be kept


def test_djangos_own_pool_is_asked_for_with_its_sizes_and_without_persistent_connections():
    entry = database_from_url("postgres://sc@db/supportcircle?pool_min_size=2&pool_max_size=8&pool_timeout=5")
    assert entry["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 5.0}
    assert entry["CONN_MAX_AGE"] == 0


def test_kept_connections_are_health_checked_before_they_are_used_again():
    """A connection that died while idle (a database restart) is not silently used again."""
    for url in ("postgres://sc@db/supportcircle", "postgres://sc@db/supportcircle?pool=false"):
        assert database_from_url(url)["CONN_HEALTH_CHECKS"] is True


def test_a_plain_url_gets_djangos_pool_and_pool_false_turns_it_off():
    """Without a pool every page view in progress holds a connection, and a crowd runs PostgreSQL out of them."""
    assert database_from_url("postgres://sc@db/supportcircle")["OPTIONS"]["pool"] == {
        "min_size": 2,
        "max_size": 20,
        "timeout": 3.0,  # the connect timeout: a database that is down is answered as down as soon
    }
    unpooled = database_from_url("postgres://sc@db/supportcircle?pool=false")
    assert "pool" not in unpooled["OPTIONS"] and unpooled["CONN_MAX_AGE"] > 0


@pytest.mark.parametrize(
    "query, complaint",
    [
        ("sslmod=require", "options SupportCircle does not know: sslmod"),
        ("sslmode=required", "sslmode must be one of"),
        ("connect_timeout=soon", "connect_timeout must be a whole number"),
        ("pgbouncer=session", "pgbouncer must be 'transaction'"),
        ("pgbouncer=transaction&pool=true", "not both"),
        ("pool_max_size=many", "pool sizes must be numbers"),
    ],
)
def test_a_database_option_that_cannot_be_read_is_refused_by_name(query, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        database_from_url(f"postgres://sc@db/supportcircle?{query}")


@pytest.mark.postgresql_only
def test_a_pgbouncer_url_connects_and_leaves_no_prepared_statement_on_the_server(django_db_blocker):
    """Against PostgreSQL itself (PgBouncer's part is the system test's): psycopg takes the options, and
    a statement run often is never prepared, so the next transaction may run on any server connection."""
    from django.db import connection
    from django.db.utils import ConnectionHandler

    assert connection.vendor == "postgresql", "selected only in the PostgreSQL pass (scripts/test.sh)"
    with django_db_blocker.unblock():
        db = connection.settings_dict
        url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
        handler = ConnectionHandler({"default": database_from_url(url + "?pgbouncer=transaction&connect_timeout=3")})
        try:
            pooled = handler["default"]
            with pooled.cursor() as cursor:
                for _ in range(8):  # past psycopg's threshold of five, had preparing been left on
                    cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", ["postgres"])
                    assert cursor.fetchone() == (1,)
                cursor.execute("SELECT count(*) FROM pg_prepared_statements")
                assert cursor.fetchone() == (0,)
        finally:
            handler.close_all()


def test_sentinels_carry_the_channel_layer_with_the_pool_kept_at_its_size():
    settings = read(
        {
            "REDIS_SENTINELS": "127.0.0.1:26380, 127.0.0.1:26381,[::1]:26382",
            "REDIS_SENTINEL_MASTER": "circle",
            "REDIS_MAX_CONNECTIONS": "700",
        },
        "CHANNEL_LAYERS",
    )
    (host,) = settings["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"]
    assert host["sentinels"] == [["127.0.0.1", 26380], ["127.0.0.1", 26381], ["::1", 26382]]
    assert host["master_name"] == "circle"
    assert host["max_connections"] == 700
    assert settings["CHANNEL_LAYERS"]["default"]["BACKEND"] == "chat.layers.BoundedRedisPubSubChannelLayer"


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({"REDIS_SENTINELS": "127.0.0.1"}, "REDIS_SENTINELS must list host:port pairs"),
        ({"REDIS_SENTINELS": "127.0.0.1:26380", "REDIS_URL": "redis://127.0.0.1"}, "not both"),
        ({"TRUSTED_PROXIES": "127.0.0.1,nginx"}, "TRUSTED_PROXIES must list IP addresses or networks"),
        ({"LOG_FORMAT": "yaml"}, "LOG_FORMAT must be one of plain, json"),
    ],
)
def test_a_service_setting_that_cannot_be_read_stops_the_start_by_name(env, complaint):
    result = settings_in_a_new_process(env, "DEBUG")
    assert result.returncode != 0
    assert complaint in result.stderr
