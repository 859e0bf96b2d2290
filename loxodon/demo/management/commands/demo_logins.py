from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.demo.logins import demo_logins_text
from loxodon.demo.seeding import demo_data_present


class Command(BaseCommand):
    help = (
        "Print the demo's URLs, logins, a fresh API token for user 'agent' and the story "
        "customers' 360-view URLs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo_data_present():
            raise CommandError("there is no demo data in this database: run `loxodon seed_demo`")
        self.stdout.write(demo_logins_text(host=options["host"], port=options["port"]))
