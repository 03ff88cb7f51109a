from pathlib import Path

from django.core.management.base import BaseCommand

from supportcircle.operations.backups import database, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into a NEW database on the same PostgreSQL server. "
        "The site's own database is never touched: check the copy, then point DATABASE_URL at it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("backup", type=Path, help="The .dump file.")
        parser.add_argument("--into", required=True, help="Name of the database to create and restore into.")
        parser.add_argument("--database-url", help="Restore beside this database (default: DATABASE_DIRECT_URL).")

    def handle(self, *args, backup: Path, into: str, database_url: str | None = None, **options) -> None:
        restore(backup, database(database_url), into)
        self.stdout.write(f"Restored {backup} into the new database {into}.")
