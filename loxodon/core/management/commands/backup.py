"""`loxodon backup FILE`: database, media, mail spool and erasure ledger in one verified file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.core.backup import BackupError, Place, RichProgress, backup, describe


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite online backup API, or pg_dump from a snapshot), the "
        "media and mail spool folders and the erasure ledger into one tar FILE, with a "
        "manifest of per-table row counts and checksums. Safe while the server runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="where to write the backup (e.g. loxodon-2026-12-02.tar)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        place = Place.from_settings()
        show = not options["no_progress"] and sys.stderr.isatty()
        try:
            with RichProgress(enabled=show) as progress:
                report = backup(Path(options["file"]), place, progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(describe(report, "Backed up to", "checksums in the manifest"))
