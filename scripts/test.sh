#!/usr/bin/env bash
# The whole suite: once on SQLite (chat tests on both channel layers), then the
# database-facing tests and the browser tests of database faults again on PostgreSQL
# when it is reachable. Under CI=true Redis and PostgreSQL are required: their tests
# fail rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/supportcircle}
# One worker per core (pytest-xdist); a module's tests stay together on one worker (their servers,
# stacks and fixtures are made for them).
PARALLEL=(-n "${TEST_WORKERS:-auto}" --dist loadfile)

pg_reachable() {
  $BIN/python - "$PG_URL" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
PY
}

echo "== Suite on SQLite"
$BIN/pytest -q "${PARALLEL[@]}" -m "not postgresql_only" "$@"

if pg_reachable || [ "${CI:-}" = "true" ]; then
  echo "== Database and chat tests on PostgreSQL"
  DATABASE_URL="$PG_URL" $BIN/pytest -q "${PARALLEL[@]}" -m "not browser and not system and not sqlite_only" tests/accounts tests/groups tests/chat \
    tests/security tests/faults tests/privacy tests/console tests/moderation tests/operations tests/safeguarding "$@"
  echo "== Browser tests of database faults on PostgreSQL (its connections cut, a table locked; two need it)"
  DATABASE_URL="$PG_URL" $BIN/pytest -q "${PARALLEL[@]}" -m "not sqlite_only" tests/browser/test_writing_through_a_database_outage.py \
    tests/browser/test_catching_up_through_a_refused_backfill.py tests/browser/test_catching_up_through_a_refused_ping.py \
    tests/browser/test_a_server_error_keeps_the_words.py "$@"
else
  echo "PostgreSQL is not reachable at $PG_URL: skipping the PostgreSQL run (it is required under CI=true)."
fi
