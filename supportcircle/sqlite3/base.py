"""Django's SQLite backend, with each statement's placeholders converted once, not on every run.

Django writes SQL with ``%s`` placeholders and its SQLite cursor turns them into ``?`` before every
statement runs: a regular expression reached through a lazy proxy (an ``AttributeError`` raised and
caught on the way), then a second pass for ``%%``. The statements are the same few hundred over and
over, so this cursor keeps each one's conversion (up to ``KEPT`` of them; when full it starts
again). The result is Django's own conversion of that text, so what runs is unchanged.
Named (``%(name)s``) parameters are converted as Django does, each time: their names are part of
the conversion.
"""

from __future__ import annotations

from django.db.backends.sqlite3 import base

KEPT = 2_000
_converted: dict[str, str] = {}


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)
        converted = _converted.get(query)
        if converted is None:
            converted = super().convert_query(query)
            if len(_converted) >= KEPT:
                _converted.clear()
            _converted[query] = converted
        return converted


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
