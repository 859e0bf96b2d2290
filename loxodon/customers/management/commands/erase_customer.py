"""`loxodon erase_customer ID --reason TEXT [--by USERNAME]`: the right to be forgotten."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.core.errors import DomainError
from loxodon.customers.erasure import erase_customer
from loxodon.org.models import User


class Command(BaseCommand):
    help = (
        "Erase a customer's personal data everywhere (and of everyone merged into them): "
        "pseudonymised profile, no identities or portal login, free text and files removed, "
        "figures kept. Recorded in the database and in the erasure ledger (var/erasures.jsonl)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id")
        parser.add_argument("--reason", default="", help="e.g. the request's reference; kept")
        parser.add_argument("--by", default="", help="username of the admin (recorded)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("--reason is required: say why (e.g. the request's reference)")
        by = None
        if options["by"]:
            by = User.objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"no member of staff called '{options['by']}'")
        try:
            done = erase_customer(
                customer_id=options["customer_id"], by=by, reason=options["reason"]
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        changed = sum(done.rows.values())
        covers = f" and {len(done.covers)} merged into them" if done.covers else ""
        self.stdout.write(
            f"Erased customer {done.erased_customer_id}{covers}: {changed} rows changed "
            f"(erasure {done.pk}, {done.created_at:%Y-%m-%d %H:%M} UTC)."
        )
