"""Production settings pass Django's deployment checklist and refuse unsafe configurations."""

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SUPPORTCIRCLE_ENV": "production",
    "SECRET_KEY": "p8Kq2vR7zT1xW4nY6bC3mF9hJ5sL0dG8aE2uI7oP4kN1wQ6rV3yB9tZ5cX8jH2gS",
    "ALLOWED_HOSTS": "circle.example.org",
    "DATABASE_URL": "postgres://supportcircle@127.0.0.1:5432/supportcircle",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CHANNEL_ENCRYPTION_KEY": "another-long-random-key-used-only-to-encrypt-channel-payloads-0042",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    dropped = {"DEBUG", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FAST_PASSWORD_HASHER"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_the_deployment_checklist_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing, complaint",
    [("SECRET_KEY", "SECRET_KEY must be set"), ("CHANNEL_ENCRYPTION_KEY", "CHANNEL_ENCRYPTION_KEY must be set")],
)
def test_production_refuses_to_start_without_its_secrets(missing, complaint):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_production_refuses_to_start_in_debug_mode():
    result = manage("check", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_passwords_are_hashed_with_argon2_first():
    result = manage("shell", "-c", "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])", env={})
    assert result.stdout.splitlines()[-1] == "supportcircle.accounts.hashers.Argon2PasswordHasher", result.stderr


def test_production_refuses_the_test_suites_fast_password_hasher():
    result = manage("check", env={**PRODUCTION_ENV, "FAST_PASSWORD_HASHER": "true"})
    assert result.returncode != 0
    assert "FAST_PASSWORD_HASHER is for the test suite" in result.stderr


def minimum_pins() -> dict[str, tuple[int, ...]]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        # The lowest version each line allows: a minimum (>=) or an exact pin (==).
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?(?:>=|==)([0-9.]+)", line.strip())
        if match:
            pins[match.group(1).lower()] = tuple(int(part) for part in match.group(2).split("."))
    return pins


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_versions_with_known_cves_are_excluded_by_the_pins():
    pins = minimum_pins()
    # daphne < 4.2.2: unbounded message size and header smuggling on the upgrade path.
    assert pins["daphne"] >= (4, 2, 2)
    assert pins["django"] >= (5, 2, 15)


def test_the_installed_versions_meet_the_pins():
    for name, minimum in minimum_pins().items():
        assert version_tuple(importlib.metadata.version(name)) >= minimum, name
