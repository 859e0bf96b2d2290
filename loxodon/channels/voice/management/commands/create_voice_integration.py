from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.channels.voice.services import create_voice_integration
from loxodon.core.errors import DomainError
from loxodon.org.selectors import get_site


class Command(BaseCommand):
    help = (
        "Register a telephony system (IVR / CTI) that reports calls, and print its key id and "
        "signing secret (the secret is shown only this once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="what the system is, e.g. 'London PBX'")
        parser.add_argument("--site", default=None, help="code of the site whose calls it reports")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            site = get_site(options["site"]) if options["site"] else None
            integration = create_voice_integration(name=options["name"], site=site)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"LOXODON_VOICE_KEY_ID={integration.key_id}")
        self.stdout.write(f"LOXODON_VOICE_SECRET={integration.secret}")
