"""The P target: supportcircle.asgi.application unchanged, plus a database statement counter.

The counter wraps every SQL statement (Django's execute_wrapper) and is written to
BENCH_COUNTERS_PATH when the process gets SIGUSR1, so the harness can report database
operations per message on SQLite as well as PostgreSQL.
"""

import json
import os
import signal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.db.backends.signals import connection_created  # noqa: E402

from supportcircle.asgi import application  # noqa: E402,F401

COUNTS = {"statements": 0, "connections": 0}


def _count(execute, sql, params, many, context):
    COUNTS["statements"] += 1
    return execute(sql, params, many, context)


def _install_counter(sender, connection, **kwargs):
    COUNTS["connections"] += 1
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


connection_created.connect(_install_counter)


def _dump_counts(signum, frame):
    path = os.environ.get("BENCH_COUNTERS_PATH")
    if path:
        with open(path + ".tmp", "w") as out:
            json.dump(COUNTS, out)
        os.replace(path + ".tmp", path)


signal.signal(signal.SIGUSR1, _dump_counts)
