"""SQLite statements run exactly as through Django's own backend (supportcircle.sqlite3), with each
statement's placeholders converted once instead of on every run.

Each test opens its own in-memory database through both backends, so it holds whatever database the
suite itself runs on.
"""

from __future__ import annotations

import pytest
from django.db.utils import ConnectionHandler

from supportcircle.sqlite3 import base

STATEMENTS = [
    ("SELECT %s, %s", [1, "two"]),
    ("SELECT '100%%', %s", ["sure"]),
    ("SELECT %(first)s, '50%%', %(second)s", {"first": 3, "second": "four"}),
    ("SELECT '100%%'", None),
]


@pytest.fixture
def both(django_db_blocker):
    """Two databases of the test's own, not the suite's: pytest-django is told they may be opened."""
    django_db_blocker.unblock()
    handler = ConnectionHandler(
        {
            "default": {"ENGINE": "supportcircle.sqlite3", "NAME": ":memory:"},
            "djangos": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        }
    )
    yield handler["default"], handler["djangos"]
    handler.close_all()
    django_db_blocker.restore()


def rows(connection, sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.parametrize("sql, params", STATEMENTS)
def test_a_statement_answers_as_through_djangos_backend_first_time_and_after(both, sql, params):
    ours, djangos = both
    expected = rows(djangos, sql, params)
    assert rows(ours, sql, params) == expected
    assert rows(ours, sql, params) == expected  # the second run uses the kept conversion


def test_writes_and_reads_with_placeholders_agree(both):
    for connection in both:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            for n in range(3):
                cursor.execute("INSERT INTO notes (body) VALUES (%s)", [f"note {n}, 10%% kind"])
    ours, djangos = both
    sql = "SELECT id, body FROM notes WHERE id >= %s ORDER BY id"
    assert rows(ours, sql, [2]) == rows(djangos, sql, [2]) == [(2, "note 1, 10%% kind"), (3, "note 2, 10%% kind")]


def test_each_statement_is_converted_once_and_the_kept_ones_stay_bounded(both, monkeypatch):
    ours, _ = both
    monkeypatch.setattr(base, "_converted", {})
    monkeypatch.setattr(base, "KEPT", 5)
    rows(ours, "SELECT %s", [1])
    assert base._converted == {"SELECT %s": "SELECT ?"}
    for n in range(12):
        rows(ours, f"SELECT %s + {n}", [1])
    assert 0 < len(base._converted) <= 5
