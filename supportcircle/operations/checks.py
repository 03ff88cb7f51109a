"""Warnings for a production that runs without the services it needs (``manage.py check`` and every start)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register()
def production_services(app_configs, **kwargs) -> list[Warning]:
    if not settings.IS_PRODUCTION:
        return []
    warnings = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        warnings.append(
            Warning(
                "Production is running on SQLite.",
                hint="Set DATABASE_URL to a PostgreSQL database: SQLite lets one writer in at a time, and only "
                "the server processes of this one machine can share it.",
                id="operations.W001",
            )
        )
    if "Redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        warnings.append(
            Warning(
                "Production is running without Redis.",
                hint="Set REDIS_URL or REDIS_SENTINELS: without Redis chat messages reach only the sockets of "
                "the server process that stored them.",
                id="operations.W002",
            )
        )
    return warnings
