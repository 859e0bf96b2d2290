from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.channels.web.services import create_web_property
from loxodon.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Register a company web site for the activity beacon (and chat widget); prints its "
        "public key (for the pages) and identity secret (for the site's server only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="what the site is, e.g. 'Shop'")
        parser.add_argument("--site", default=None, help="service centre code it belongs to")
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="an origin allowed to send beacons, e.g. https://shop.example.com (repeatable; "
            "none: any origin)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            prop = create_web_property(
                name=options["name"], site_code=options["site"], origins=options["origin"]
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"public key:      {prop.public_key}")
        self.stdout.write(f"identity secret: {prop.identity_secret}")
