from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from loxodon.core.errors import DomainError
from loxodon.customers.resolution import linkage
from loxodon.customers.resolution.engine import BackendUnavailable


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Find customers who are one person (Splink on DuckDB, trained without labels), merge "
        "the sure ones (above --auto-threshold, with no conflicting given name or date of "
        "birth, and never a pair someone marked 'not the same person') and queue the unsure "
        "ones (above --review-threshold) for review in the desk."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", help="only pairs involving this centre's customers")
        parser.add_argument(
            "--train", action="store_true", help="retrain and store a new model first"
        )
        parser.add_argument("--backend", choices=("duckdb", "spark"), default="duckdb")
        parser.add_argument(
            "--auto-threshold", type=_probability, default=linkage.DEFAULT_AUTO, metavar="P"
        )
        parser.add_argument(
            "--review-threshold", type=_probability, default=linkage.DEFAULT_REVIEW, metavar="P"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="score and report; merge and queue nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        err = Console(file=options.get("stderr") or sys.stderr)
        out = Console(file=options.get("stdout") or sys.stdout)
        try:
            with err.status("linking customers") as status:

                def progress(message: str) -> None:
                    status.update(message)
                    err.log(message)

                outcome = linkage.run_linkage(
                    site=options["site"],
                    train=options["train"],
                    backend=options["backend"],
                    dry_run=options["dry_run"],
                    auto_threshold=options["auto_threshold"],
                    review_threshold=options["review_threshold"],
                    progress=progress,
                )
        except BackendUnavailable as exc:
            raise CommandError(str(exc)) from None
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        table = Table(title="link_customers" + (" (dry run)" if options["dry_run"] else ""))
        table.add_column("")
        table.add_column("", justify="right")
        for label, value in linkage.summary_rows(outcome):
            table.add_row(label, value)
        out.print(table)
