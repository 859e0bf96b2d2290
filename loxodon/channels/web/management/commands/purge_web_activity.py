from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.channels.web.services import purge_anonymous_activity
from loxodon.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Delete anonymous web visitors (never identified) not seen for N days, with their "
        "visits and hits (default LOXODON_WEB_ANONYMOUS_RETENTION_DAYS). Run daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = purge_anonymous_activity(older_than_days=options["days"])
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"deleted {count} anonymous visitors")
