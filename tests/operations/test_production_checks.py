"""`manage.py check` (and every start) warns when production runs without PostgreSQL or Redis."""

import os
import subprocess
import sys
from pathlib import Path

from tests.security.test_production_settings import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]
# Production's secrets and hosts, without its services: each test adds the ones it is about.
PRODUCTION = {k: v for k, v in PRODUCTION_ENV.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
DATABASE = {"DATABASE_URL": "postgres://supportcircle@127.0.0.1:5432/supportcircle"}
REDIS = {"REDIS_SENTINELS": "127.0.0.1:26380,127.0.0.1:26381,127.0.0.1:26382"}


def check(env: dict[str, str]) -> str:
    suite_only = {"DEBUG", "DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "FAST_PASSWORD_HASHER"}
    clean = {k: v for k, v in os.environ.items() if k not in suite_only}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr  # warnings never stop the start
    return result.stdout + result.stderr


def test_production_on_sqlite_is_warned_about():
    out = check({**PRODUCTION, **REDIS})
    assert "operations.W001" in out and "Production is running on SQLite" in out
    assert "operations.W002" not in out


def test_production_without_redis_is_warned_about():
    out = check({**PRODUCTION, **DATABASE})
    assert "operations.W002" in out and "Production is running without Redis" in out
    assert "operations.W001" not in out


def test_production_with_both_and_development_without_either_are_quiet():
    assert "operations.W" not in check({**PRODUCTION, **DATABASE, **REDIS})
    assert "operations.W" not in check({})
