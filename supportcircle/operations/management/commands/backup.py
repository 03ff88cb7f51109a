from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from supportcircle.operations.backups import back_up, database


class Command(BaseCommand):
    help = (
        "Back the database up with pg_dump into one file (custom format), checked readable before it is "
        "named. Default: BACKUP_DIR/supportcircle-<UTC time>.dump."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", type=Path, help="Where to write the backup.")
        parser.add_argument("--database-url", help="Back up this database instead (default: DATABASE_DIRECT_URL).")

    def handle(self, *args, output: Path | None = None, database_url: str | None = None, **options) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = output or Path(settings.BACKUP_DIR) / f"supportcircle-{stamp}.dump"
        back_up(database(database_url), path)
        self.stdout.write(f"Backed up to {path} ({path.stat().st_size:,} bytes).")
