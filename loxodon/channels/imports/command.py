"""The one shape of both import commands: arguments, progress bar, error report, exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar, Protocol

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.channels.imports.console import ProgressBar, finish
from loxodon.channels.imports.mapping import Mapping, load_mapping
from loxodon.channels.imports.services import ImportOutcome, Progress
from loxodon.core.errors import DomainError
from loxodon.org.models import Site
from loxodon.org.selectors import get_site


class ImportService(Protocol):
    def __call__(
        self,
        *,
        path: Path,
        site: Site,
        mapping: Mapping,
        batch_size: int = ...,
        skip_invalid: bool = ...,
        dry_run: bool = ...,
        progress: Progress | None = ...,
    ) -> ImportOutcome: ...


class ImportCommand(BaseCommand):
    """Subclasses name what they import (`noun`), whether it is events, and the service."""

    noun: ClassVar[str]
    for_events: ClassVar[bool] = False

    def service(self) -> ImportService:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the centre's CSV export")
        parser.add_argument(
            "--site", required=True, metavar="CODE", help="code of the centre (site)"
        )
        parser.add_argument(
            "--mapping", type=Path, default=None, metavar="map.toml", help="column mapping (TOML)"
        )
        parser.add_argument(
            "--errors",
            type=Path,
            default=None,
            metavar="REPORT.csv",
            help="error report (default FILE.errors.csv)",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, metavar="N", help="rows per transaction (500)"
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows, report the rest"
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        path: Path = options["file"]
        err = options.get("stderr") or sys.stderr
        try:
            site = get_site(options["site"])
            mapping = load_mapping(options["mapping"], for_events=self.for_events)
            with ProgressBar(err) as bar:
                outcome = self.service()(
                    path=path,
                    site=site,
                    mapping=mapping,
                    batch_size=options["batch_size"],
                    skip_invalid=options["skip_invalid"],
                    dry_run=options["dry_run"],
                    progress=bar,
                )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        finish(
            outcome,
            what=f"{self.noun} of {site.code} from {path.name}",
            path=path,
            report=options["errors"],
            skip_invalid=options["skip_invalid"],
            dry_run=options["dry_run"],
            out=options.get("stdout") or sys.stdout,
            err=err,
        )
