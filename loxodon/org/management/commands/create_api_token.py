from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.core.errors import NotFound
from loxodon.org.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a member of staff and print it (only the token, once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            raw = create_api_token(username=options["username"], name=options["name"])
        except NotFound as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(raw)
