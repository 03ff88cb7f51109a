"""P and D as served in the bench: ``supportcircle.asgi.application`` unchanged, plus a statement counter.

Nothing here changes a setting: the settings module is whatever DJANGO_SETTINGS_MODULE says
(``supportcircle.settings``, as ``supportcircle/asgi.py`` defaults to). When BENCH_COUNTERS_PATH is
set, every SQL statement is counted (Django's execute_wrapper, on each new connection) by the
first table it names (bench/statements.py), and SIGUSR1 makes the process write the counts to
that file, so the harness can report statements per message, and per second by table, on
PostgreSQL and SQLite alike. Counting costs a microsecond or two per statement.
"""

import json
import os
import signal

from bench.statements import StatementCounter
from supportcircle.asgi import application  # noqa: F401  (what daphne serves)

COUNTERS_PATH = os.environ.get("BENCH_COUNTERS_PATH", "")
COUNTER = StatementCounter()


def _install_counter(sender, connection, **kwargs):
    COUNTER.counts["connections"] += 1
    if COUNTER not in connection.execute_wrappers:
        connection.execute_wrappers.append(COUNTER)


def _dump_counts(signum, frame):
    with open(COUNTERS_PATH + ".tmp", "w") as out:
        json.dump(COUNTER.counts, out)
    os.replace(COUNTERS_PATH + ".tmp", COUNTERS_PATH)


if COUNTERS_PATH:
    from django.db.backends.signals import connection_created

    connection_created.connect(_install_counter)
    signal.signal(signal.SIGUSR1, _dump_counts)
