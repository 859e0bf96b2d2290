"""What the import commands show: a rich progress bar on stderr, the summary, the errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from loxodon.channels.imports.parsing import default_report_path, write_report
from loxodon.channels.imports.services import ImportOutcome

SHOWN_ERRORS = 10


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


class ProgressBar:
    """The `Progress` the services report to, drawn by rich (rows, rows/s, ETA)."""

    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream, stderr=True)
        self.bar = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()

    def start(self, description: str, total: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.bar.tasks[-1].total)
        self.task = self.bar.add_task(description, total=total)

    def advance(self, rows: int) -> None:
        if self.task is not None and rows:
            self.bar.advance(self.task, rows)


def finish(
    outcome: ImportOutcome,
    *,
    what: str,
    path: Path,
    report: Path | None,
    skip_invalid: bool,
    dry_run: bool,
    out: TextIO,
    err: TextIO,
) -> None:
    """Write the report and the summary; a refused file ends in CommandError (exit 1)."""
    report_path = report or default_report_path(path)
    if outcome.errors:
        write_report(report_path, outcome.errors)
        for e in outcome.errors[:SHOWN_ERRORS]:
            err.write(f"  {e}\n")
        if len(outcome.errors) > SHOWN_ERRORS:
            err.write(f"  … and {len(outcome.errors) - SHOWN_ERRORS} more problems\n")
    figures = (
        f"created {outcome.created}, updated {outcome.updated}, "
        f"unchanged {outcome.unchanged}, invalid {outcome.invalid}"
    )
    timing = (
        f"{outcome.rows} rows in {outcome.seconds:.1f} s ({outcome.rows_per_second:,.0f} rows/s)"
    )
    if outcome.errors and not skip_invalid:
        done = "(dry run: nothing written)" if dry_run else "nothing was imported"
        raise CommandError(
            f"{outcome.invalid} invalid rows in {path.name}: {done}. Every problem is listed "
            f"in {report_path}; fix the file and run again, or use --skip-invalid to import "
            "the valid rows."
        )
    note = " (dry run: nothing written)" if dry_run else ""
    out.write(f"{what}: {figures}; {timing}{note}\n")
    if outcome.errors:
        err.write(f"warning: {outcome.invalid} invalid rows were skipped; see {report_path}\n")
