"""Backups with PostgreSQL's own tools: ``pg_dump`` writes one file, ``pg_restore`` reads it into a
new database. ``manage.py backup`` and ``manage.py restore`` are the front doors.

They reach PostgreSQL itself (``DATABASE_DIRECT_URL`` when the site's ``DATABASE_URL`` names a
PgBouncer), with the same address, user and TLS options the site uses; the password goes to the
tools in their environment, never on a command line that ``ps`` shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from psycopg import sql

from supportcircle.settings import database_from_url

# libpq reads these from the environment (https://www.postgresql.org/docs/current/libpq-envars.html).
LIBPQ_ENVIRONMENT = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def database(url: str | None = None) -> dict:
    """The database to back up or restore beside: ``url``, else DATABASE_DIRECT_URL, else the site's own."""
    url = url or settings.DATABASE_DIRECT_URL
    entry = database_from_url(url) if url else settings.DATABASES["default"]
    if entry["ENGINE"] != "django.db.backends.postgresql":
        raise CommandError(
            "Backups here are PostgreSQL's (pg_dump). This site runs on SQLite: copy its file "
            f"({entry['NAME']}) while the server is stopped instead."
        )
    return entry


def libpq_environment(entry: dict) -> dict[str, str]:
    env = {**os.environ, "PGDATABASE": entry["NAME"]}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if entry.get(key):
            env[variable] = str(entry[key])
    for option, variable in LIBPQ_ENVIRONMENT.items():
        value = entry.get("OPTIONS", {}).get(option)
        if value not in (None, ""):
            env[variable] = str(value)
    return env


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(f"{name} is not installed: apt-get install postgresql-client (the same major version).")
    return path


def run(args: list[str], env: dict[str, str]) -> None:
    """One of PostgreSQL's tools, with arguments built here (never a shell)."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if done.returncode != 0:
        raise CommandError(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def back_up(entry: dict, path: Path) -> Path:
    """Write the whole database to ``path`` (pg_dump's custom format), complete or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    env = libpq_environment(entry)
    try:
        run([tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"], env)
        # A file pg_restore cannot list is no backup: read its table of contents back before naming it.
        run([tool("pg_restore"), "--list", str(partial)], env)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(path)
    return path


def restore(path: Path, entry: dict, into: str) -> None:
    """Create the database ``into`` beside ``entry``'s, on the same server, and read the backup into it.
    Never into an existing database: the live one is switched over by hand, once the copy is checked."""
    if not path.is_file():
        raise CommandError(f"No backup at {path}.")
    if into == entry["NAME"]:
        raise CommandError(f"{into} is the database the site uses: restore into a new one, check it, then switch.")
    server = {key: value for key, value in libpq_environment(entry).items() if key.startswith("PG")}
    try:
        with psycopg.connect(
            host=server.get("PGHOST"),
            port=server.get("PGPORT"),
            user=server.get("PGUSER"),
            password=server.get("PGPASSWORD"),
            sslmode=server.get("PGSSLMODE", "prefer"),
            dbname="postgres",
            autocommit=True,
        ) as maintenance:
            maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(into)))
    except psycopg.errors.DuplicateDatabase:
        raise CommandError(f"A database named {into} exists already: choose a new name.") from None
    env = {**libpq_environment(entry), "PGDATABASE": into}
    run([tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={into}", str(path)], env)
