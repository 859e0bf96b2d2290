from __future__ import annotations

from types import TracebackType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from loxodon.demo.seeding import (
    clashing_usernames,
    demo_counts,
    demo_data_present,
    reset_database,
    seed_demo,
    story_lines,
)
from loxodon.demo.world import PASSWORD, NoProgress


class RichProgress:
    """One rich progress bar per seeding phase, on stderr (stdout carries the summary)."""

    def __init__(self) -> None:
        self.bar = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.stop()

    def phase(self, description: str, total: int) -> None:
        self.task = self.bar.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, amount)


class Command(BaseCommand):
    help = (
        "Load a realistic demo organisation (sites, staff, customers, timeline, assets, cases "
        "and the three story situations). Does nothing if the demo is already loaded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=5000)
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=42, help="same seed, same data")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="empty the WHOLE database first (flush), then load the demo; demo databases only",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 10:
            raise CommandError("--customers must be at least 10")
        if options["events"] < 0:
            raise CommandError("--events must not be negative")
        if options["reset"]:
            reset_database()
        elif demo_data_present():
            customers, events = demo_counts()
            self.stdout.write(
                f"Demo data already loaded ({customers} customers, {events} events); "
                "use --reset to reload"
            )
            return
        clashes = clashing_usernames()
        if clashes:
            raise CommandError(
                f"user(s) {', '.join(clashes)} already exist: load the demo into an empty "
                "database, or use --reset (which empties this one)"
            )
        kwargs = {k: options[k] for k in ("customers", "events", "seed")}
        if options["verbosity"] > 0:
            with RichProgress() as progress:
                summary = seed_demo(**kwargs, progress=progress)
        else:
            summary = seed_demo(**kwargs, progress=NoProgress())
        self.stdout.write(
            f"Loaded the demo in {summary.seconds:.1f} s: {summary.sites} sites, "
            f"{summary.departments} departments, {summary.staff} staff, "
            f"{summary.customers} customers ({summary.accounts} business accounts), "
            f"{summary.events} timeline events, {summary.assets} installed products, "
            f"{summary.cases} cases, {summary.articles} knowledge articles."
        )
        self.stdout.write(f'Every demo login\'s password is "{PASSWORD}".')
        for line in story_lines(summary.stories):
            self.stdout.write(line)
        self.stdout.write("Logins, URLs and an API token: loxodon demo_logins")
