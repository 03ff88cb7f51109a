"""The bench counts each SQL statement under the first table it names."""

from bench.statements import StatementCounter, table_of


def test_each_kind_of_statement_is_counted_under_its_table():
    statements = {
        'SELECT "chat_presence"."id" FROM "chat_presence" WHERE "chat_presence"."group_id" = %s': "chat_presence",
        'INSERT INTO "chat_message" ("group_id", "seq") VALUES (%s, %s)': "chat_message",
        'UPDATE "groups_group" SET "last_seq" = ("groups_group"."last_seq" + 1)': "groups_group",
        'DELETE FROM "django_session" WHERE "session_key" = %s': "django_session",
        "SELECT COUNT(*) FROM accounts_attempt WHERE kind = %s": "accounts_attempt",
        'SAVEPOINT "s1_x1"': "SAVEPOINT",
        # A statement's own named rows (a CTE) are not a table: the first real one counts.
        'WITH k (n, key) AS (VALUES (%s, %s)) SELECT k.n FROM k LEFT OUTER JOIN "django_session" s ON s.x = k.key': (
            "django_session"
        ),
        'WITH taken AS (UPDATE "groups_group" SET last_seq = last_seq + 1) INSERT INTO "chat_message"': "groups_group",
    }
    for sql, table in statements.items():
        assert table_of(sql) == table


def test_the_counter_passes_each_statement_on_and_counts_it():
    counter = StatementCounter()
    ran = []
    for sql in ('SELECT 1 FROM "chat_presence"', 'SELECT 2 FROM "chat_presence"', 'UPDATE "groups_group" SET x = 1'):
        counter(lambda sql, params, many, context: ran.append(sql), sql, None, False, {})
    assert len(ran) == 3
    assert counter.counts["statements"] == 3
    assert counter.counts["by_table"] == {"chat_presence": 2, "groups_group": 1}


def test_a_statement_run_again_is_counted_under_the_same_table_without_scanning_it_again(monkeypatch):
    from bench import statements

    sql = 'SELECT "x"."id" FROM "chat_message" x WHERE x.id = %s'
    assert table_of(sql) == "chat_message"
    monkeypatch.setattr(statements, "_first_table", lambda sql: "scanned again")
    assert table_of(sql) == "chat_message"
    assert table_of("SELECT 1 FROM other") == "scanned again"
