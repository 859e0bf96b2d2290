"""`loxodon reindex_knowledge`: rebuild the knowledge search index (full text, vocabulary and,
when semantic search is installed, embeddings) from every article's current version."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loxodon.knowledge.search import rebuild_index, semantic


class Command(BaseCommand):
    help = "Rebuild the knowledge search index from every article's current version."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--batch", type=int, default=1000, help="articles read and written per batch"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(stderr=True)
        with_embeddings = semantic.model() is not None
        started = time.perf_counter()
        with Progress(
            TextColumn("[bold]Indexing articles"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=options.get("verbosity", 1) == 0,
        ) as progress:
            task = progress.add_task("index", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            count = rebuild_index(report, batch=max(1, options["batch"]))
        elapsed = time.perf_counter() - started
        how = "full text and embeddings" if with_embeddings else "full text only"
        self.stdout.write(
            f"Indexed {count} article{'s' if count != 1 else ''} ({how}) in {elapsed:.1f} s"
        )
