"""Counting SQL statements by the first table each names (bench/asgi_p.py installs it in P and D)."""

from __future__ import annotations

import re

# The tables a statement names: SELECT ... FROM t, ... JOIN t, INSERT INTO t, UPDATE t, DELETE FROM t.
TABLES = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?', re.IGNORECASE)
# A statement that starts WITH name (...) AS (...): the name is the statement's own, not a table.
LEADING_CTE = re.compile(r'^\s*WITH\s+"?(\w+)"?', re.IGNORECASE)


def table_of(sql: str) -> str:
    """The first table ``sql`` names, or its first word (SAVEPOINT, SET, ...) when it names none.

    Found once per statement text: the hot statements are the same text every time, and the author's seat
    (about 1,800 characters before its first FROM) took 44 µs to scan, on the server's CPU that the bench
    reports as P's own."""
    try:
        return _FOUND[sql]
    except KeyError:
        pass
    if len(_FOUND) >= FOUND_KEPT:
        _FOUND.clear()
    found = _FOUND[sql] = _first_table(sql)
    return found


# Statement texts whose table is known: the hot ones are a few dozen; ORM statements with values written
# in (IN lists of varying length) make more, hence the bound.
FOUND_KEPT = 4096
_FOUND: dict[str, str] = {}


def _first_table(sql: str) -> str:
    own = LEADING_CTE.match(sql)
    for found in TABLES.finditer(sql):
        if own is None or found.group(1) != own.group(1):
            return found.group(1)
    words = sql.split(None, 1)
    return words[0].upper() if words else "?"


class StatementCounter:
    """A Django execute wrapper that counts every statement, in all and by table."""

    def __init__(self) -> None:
        self.counts: dict = {"statements": 0, "connections": 0, "by_table": {}}

    def __call__(self, execute, sql, params, many, context):
        self.counts["statements"] += 1
        by_table = self.counts["by_table"]
        name = table_of(sql)
        by_table[name] = by_table.get(name, 0) + 1
        return execute(sql, params, many, context)
