"""/healthz (the process is alive) and /readyz (it can serve: database, channel layer, migrations).

A load balancer or systemd asks /readyz before sending people to a process, and /healthz to decide
whether to restart it. Neither says more than which check failed and the kind of failure: no
addresses, no error text.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

LAYER_TIMEOUT_SECONDS = 2.0
_migrations_applied = False  # once true in a process it stays so: new migrations come with a new release


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database()}
    # On the server's event loop, where the sockets' channel layer lives.
    checks["channel_layer"] = async_to_sync(_channel_layer_round_trip)()
    checks["migrations"] = _migrations() if checks["database"] == "ok" else "unknown"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as problem:
        return f"failed: {type(problem).__name__}"
    return "ok"


def _migrations() -> str:
    global _migrations_applied
    if _migrations_applied:
        return "ok"
    try:
        executor = MigrationExecutor(connection)
        waiting = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as problem:
        return f"failed: {type(problem).__name__}"
    if waiting:
        return f"{len(waiting)} not applied"
    _migrations_applied = True
    return "ok"


async def _channel_layer_round_trip() -> str:
    """A message to a channel of this process's own, through the channel layer (Redis) and back."""
    layer = get_channel_layer()
    nonce = uuid.uuid4().hex
    try:
        async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
            channel = await layer.new_channel("readyz.")
            waiting = asyncio.ensure_future(layer.receive(channel))
            try:
                await layer.send(channel, {"type": "readyz.ping", "nonce": nonce})
                answer = await waiting
            finally:
                # A receive cancelled is how a channel is let go (as when a consumer ends): its
                # subscription goes with it.
                leaving = waiting if not waiting.done() else asyncio.ensure_future(layer.receive(channel))
                await asyncio.sleep(0)
                leaving.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await leaving
    except Exception as problem:
        return f"failed: {type(problem).__name__}"
    return "ok" if answer.get("nonce") == nonce else "failed: wrong answer"
