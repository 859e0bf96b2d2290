from __future__ import annotations

from loxodon.channels.imports.command import ImportCommand, ImportService
from loxodon.channels.imports.services import import_customers


class Command(ImportCommand):
    help = (
        "Import a centre's customers from its CSV export: one customer per row, known by the "
        "legacy id SITE:legacy_id. Every row is checked first; an invalid row means nothing is "
        "written (or, with --skip-invalid, that row is left out) and every problem goes to the "
        "error report. Re-running the same file changes nothing. Then run `loxodon "
        "link_customers`."
    )
    noun = "customers"

    def service(self) -> ImportService:
        return import_customers
