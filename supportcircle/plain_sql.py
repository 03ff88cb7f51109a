"""Model instances from plain SQL, as the ORM would make them.

A few statements run for every message or every few deliveries (the author's seat, the sockets'
re-checks). Built with the ORM, each is compiled afresh on every call, and compiling cost several times
what the database took to answer. Those few are written as plain SQL from the models' own tables and
columns (their ``_meta``), and their rows become instances through Django's public ``Model.from_db``
after each field's converters (the database's, then the field's ``from_db_value``, as a query's
compiler applies them), so the code that reads them sees the same objects as from a queryset.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection


def table(model) -> str:
    """The model's table, quoted (found once: each read of ``connection`` goes through Django's per-thread
    lookup, a few µs, and an opening socket's queries name a dozen tables)."""
    try:
        return _TABLES[model]
    except KeyError:
        return _TABLES.setdefault(model, connection.ops.quote_name(model._meta.db_table))


_TABLES: dict[type, str] = {}


def db_time(moment):
    """A datetime as a plain query's parameter, as the ORM would pass it (naive UTC text on SQLite).
    The database's ``adapt_datetimefield_value`` reads no connection state (the settings and the
    database's time zone only), so the first thread's serves every thread."""
    global _ADAPT_TIME
    if _ADAPT_TIME is None:
        _ADAPT_TIME = connection.ops.adapt_datetimefield_value
    return _ADAPT_TIME(moment)


_ADAPT_TIME = None


def column(model, name: str, alias: str = "") -> str:
    """A field's column, quoted (``alias.column`` with an alias); found once, as ``table``'s."""
    try:
        quoted = _COLUMNS[model, name]
    except KeyError:
        quoted = _COLUMNS.setdefault((model, name), connection.ops.quote_name(model._meta.get_field(name).column))
    return f"{alias}.{quoted}" if alias else quoted


_COLUMNS: dict[tuple[type, str], str] = {}


def placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class Converters:
    """How the ORM turns one field's column into a Python value on this database."""

    column: object
    functions: list

    @classmethod
    def of(cls, field) -> Converters:
        col = field.get_col(field.model._meta.db_table)
        return cls(col, connection.ops.get_db_converters(col) + field.get_db_converters(connection))

    def __call__(self, value):
        for convert in self.functions:
            value = convert(value, self.column, connection)
        return value


@dataclass(frozen=True)
class ModelColumns:
    """All of a model's concrete columns under an alias in a plain SELECT, and the instance a row's part makes."""

    model: type
    alias: str
    fields: list
    converters: list
    attnames: list
    # (position, converters) of the columns that have any: most (ids, text, numbers) come as they are.
    converting: list

    @classmethod
    def of(cls, model, alias: str) -> ModelColumns:
        """Made once per model and alias: the statements that use it run for every message or re-check."""
        try:
            return _MODEL_COLUMNS[model, alias]
        except KeyError:
            fields = list(model._meta.concrete_fields)
            converters = [Converters.of(field) for field in fields]
            converting = [(n, convert) for n, convert in enumerate(converters) if convert.functions]
            made = cls(model, alias, fields, converters, [f.attname for f in fields], converting)
            return _MODEL_COLUMNS.setdefault((model, alias), made)

    def __len__(self) -> int:
        return len(self.fields)

    def sql(self) -> str:
        return ", ".join(column(self.model, field.name, self.alias) for field in self.fields)

    def instance(self, values):
        if len(values) != len(self.fields):
            raise ValueError(f"{len(values)} values for {len(self.fields)} columns of {self.model.__name__}")
        values = list(values)
        for n, convert in self.converting:
            values[n] = convert(values[n])
        # Plain statements run on the default database (``connection``), whose alias this is.
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)


_MODEL_COLUMNS: dict[tuple[type, str], ModelColumns] = {}
