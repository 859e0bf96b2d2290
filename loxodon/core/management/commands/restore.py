"""`loxodon restore FILE`: load a backup into a fresh database, verify it, re-apply erasures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from loxodon.core.backup import BackupError, Place, RichProgress, describe, restore_data


class Command(BaseCommand):
    help = (
        "Restore a `loxodon backup` FILE into the configured database, which must be new and "
        "empty (and empty media and mail folders). Every table's row count and checksum and "
        "every file's checksum is compared with the backup's manifest; any difference fails "
        "with the table or file named. Then migrations run and every erasure in the ledger "
        "(var/erasures.jsonl) is applied again, so erased customers stay erased."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--ledger", default="", help="the erasure ledger to re-apply (default: var/...)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        from loxodon.customers.erasure import read_ledger, reapply_ledger

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no backup file at {path}")
        place = Place.from_settings(Path(options["ledger"]) if options["ledger"] else None)
        connections.close_all()  # the restore writes the database outside Django
        show = not options["no_progress"] and sys.stderr.isatty()
        try:
            with RichProgress(enabled=show) as progress:
                report = restore_data(path, place, progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(describe(report, "Restored from", "counts and checksums match"))
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connections["default"])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:  # a backup from an older version: bring its schema up to date
            call_command("migrate", verbosity=0, interactive=False)
            self.stdout.write(f"Applied {len(pending)} migrations the backup predates.")
        entries = read_ledger(place.ledger)
        reapplied = reapply_ledger(entries)
        self.stdout.write(
            f"Erasure ledger {place.ledger}: {len(entries)} erasures, "
            f"{len(reapplied)} re-applied"
            + (f" ({', '.join(reapplied)})" if reapplied else "")
            + "."
        )
