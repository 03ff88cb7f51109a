"""Counting SQL statements by the first table each names (bench/asgi_p.py installs it in P and D)."""

from __future__ import annotations

import re

# The tables a statement names: SELECT ... FROM t, ... JOIN t, INSERT INTO t, UPDATE t, DELETE FROM t.
TABLES = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?', re.IGNORECASE)
# A statement that starts WITH name (...) AS (...): the name is the statement's own, not a table.
LEADING_CTE = re.compile(r'^\s*WITH\s+"?(\w+)"?', re.IGNORECASE)


def table_of(sql: str) -> str:
    """The first table ``sql`` names, or its first word (SAVEPOINT, SET, ...) when it names none."""
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
