"""The database made to fail under a running server, and brought back: for fault tests.

- PostgreSQL: the server reaches the database through a :class:`TcpProxy`, which cuts every
  connection and refuses new ones (as during a restart or a failover), then forwards again.
- SQLite: the database file goes away (as if its volume were unmounted: a directory stands in its
  place, so nothing can open it and nothing is created there), then comes back. The server is told
  to open the file afresh for each trip (``DATABASE_CONN_MAX_AGE=0``), so it meets the missing file
  at once, as a server whose connection broke would.

pytest keeps its own connection throughout (on SQLite, the open file), so a test can read what was
stored while the server cannot.
"""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from tests.support.servers import test_database_env
from tests.support.tcp_proxy import TcpProxy


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


class DatabaseOutage:
    def __init__(self) -> None:
        self.down = False
        self.proxy: TcpProxy | None = None
        if on_postgresql():
            self.proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
        else:
            self.path = Path(connection.settings_dict["NAME"])
            self.away = self.path.with_name(self.path.name + ".away")

    def server_env(self) -> dict[str, str]:
        """What a server (tests.support.servers.Daphne's ``extra_env``) needs to meet this outage."""
        if self.proxy is None:
            return {"DATABASE_CONN_MAX_AGE": "0"}
        url = test_database_env()["DATABASE_URL"]
        host, _, rest = url.rpartition("@")[2].partition(":")
        database = rest.partition("/")[2]
        return {"DATABASE_URL": f"{url.rpartition('@')[0]}@{host}:{self.proxy.port}/{database}"}

    def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.refuse()
        else:
            self.path.rename(self.away)
            self.path.mkdir()
        self.down = True

    def end(self) -> None:
        if not self.down:
            return
        if self.proxy is not None:
            self.proxy.restore()
        else:
            self.path.rmdir()
            self.away.rename(self.path)
        self.down = False

    def __enter__(self) -> DatabaseOutage:
        if self.proxy is not None:
            self.proxy.start()
        return self

    def __exit__(self, *exc) -> None:
        self.end()  # never leave the test database away, whatever happened
        if self.proxy is not None:
            self.proxy.stop()
