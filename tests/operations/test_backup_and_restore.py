"""A backup made with `manage.py backup` restores into a fresh database with everything in it."""

import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg import sql

from chat.actions import post_message
from supportcircle.operations.backups import back_up, database

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_postgresql():
    assert connection.vendor == "postgresql", "selected only in the PostgreSQL pass (scripts/test.sh)"
    return connection.settings_dict


@pytest.fixture
def fresh_name(on_postgresql):
    name = f"{on_postgresql['NAME']}_restored_{uuid.uuid4().hex[:6]}"
    yield name
    with psycopg.connect(**server(on_postgresql), dbname="postgres", autocommit=True) as maintenance:
        maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def server(db: dict) -> dict:
    return {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or "postgres"}


@pytest.mark.postgresql_only
def test_a_backup_restores_into_a_fresh_database_with_people_groups_and_messages(
    on_postgresql, fresh_name, group, member, second_member, tmp_path
):
    post_message(member.pk, group.pk, client_id="a1", body="I'm glad I came tonight.")
    post_message(second_member.pk, group.pk, client_id="b1", body="Me too, thank you for saying so.")
    path = tmp_path / "nightly.dump"

    call_command("backup", output=path)
    call_command("restore", str(path), into=fresh_name)

    with psycopg.connect(**server(on_postgresql), dbname=fresh_name) as restored:
        people = restored.execute("SELECT pseudonym FROM accounts_user ORDER BY pseudonym").fetchall()
        groups = restored.execute("SELECT name, last_seq FROM groups_group").fetchall()
        messages = restored.execute("SELECT seq, body FROM chat_message ORDER BY seq").fetchall()
        migrations = restored.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
    assert [p for (p,) in people] == ["Alex", "Robin", "Sam"]
    assert groups == [("Quiet Harbour", 2)]
    assert messages == [(1, "I'm glad I came tonight."), (2, "Me too, thank you for saying so.")]
    assert migrations > 0  # the restored copy knows which migrations it has: `migrate` picks up from there


@pytest.mark.postgresql_only
def test_restore_never_writes_over_the_database_the_site_uses(on_postgresql, tmp_path):
    path = back_up(database(), tmp_path / "nightly.dump")
    with pytest.raises(CommandError, match="is the database the site uses"):
        call_command("restore", str(path), into=on_postgresql["NAME"])


@pytest.mark.postgresql_only
def test_a_backup_that_could_not_be_made_leaves_no_file_behind(on_postgresql, tmp_path):
    url = f"postgres://{server(on_postgresql)['user']}@127.0.0.1:1/nowhere?connect_timeout=2"
    with pytest.raises(CommandError, match="pg_dump failed"):
        call_command("backup", output=tmp_path / "nightly.dump", database_url=url)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.sqlite_only
def test_on_sqlite_the_backup_says_what_to_do_instead():
    assert connection.vendor == "sqlite", "selected only in the SQLite pass (scripts/test.sh)"
    with pytest.raises(CommandError, match="copy its file .* while the server is stopped"):
        call_command("backup")
