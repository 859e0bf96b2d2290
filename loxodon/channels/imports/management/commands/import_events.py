from __future__ import annotations

from loxodon.channels.imports.command import ImportCommand, ImportService
from loxodon.channels.imports.services import import_events


class Command(ImportCommand):
    help = (
        "Import a centre's events (shipments, orders, visits...) from its CSV export onto the "
        "customers holding the legacy ids SITE:legacy_id, through the timeline's idempotent "
        "ingest (source import:SITE + external_id). Re-running writes nothing; the same "
        "external id with other content is a row error. Imported events are history: they "
        "never trigger surveys."
    )
    noun = "events"
    for_events = True

    def service(self) -> ImportService:
        return import_events
