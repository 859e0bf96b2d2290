"""`loxodon create_portal_login EMAIL [--customer ID] [--password-stdin] [--account-admin]`.

The customer is the one the address belongs to (verified for them, or known unverified for
exactly one customer); `--customer` picks one when several have it. The address becomes a
verified identity of that customer (the operator vouches for it). A password, if any, is read
from stdin (never from the command line, where `ps` and shell history would keep it).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loxodon.core.errors import DomainError
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.customers.normalise import normalise_email
from loxodon.portal.auth import create_portal_login


class Command(BaseCommand):
    help = "Create a customer portal login for an email address of one customer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--customer", help="customer id, when several customers have EMAIL")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read a password from stdin"
        )
        parser.add_argument(
            "--account-admin", action="store_true", help="also sees the business account's cases"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            email = normalise_email(options["email"])
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        customer = self._customer(email, options.get("customer"))
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("no password on stdin")
        try:
            login = create_portal_login(
                customer=customer,
                email=email,
                password=password,
                is_account_admin=options["account_admin"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        kind = "account admin " if login.is_account_admin else ""
        how = "password or emailed links" if login.password else "emailed links"
        self.stdout.write(
            f"portal {kind}login {login.pk} for {customer.name} ({customer.pk}): "
            f"signs in as {email} with {how}"
        )

    def _customer(self, email: str, customer_id: str | None) -> Customer:
        if customer_id:
            customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
            if customer is None:
                raise CommandError(f"no customer with id {customer_id}")
            return customer
        identities = Identity.objects.filter(
            kind=IdentityKind.EMAIL, value=email, customer__merged_into__isnull=True
        ).select_related("customer")
        verified = [i for i in identities if i.verified]
        if verified:
            return verified[0].customer
        owners = {i.customer_id: i.customer for i in identities}
        if not owners:
            raise CommandError(f"no customer has {email}: add it to the customer first")
        if len(owners) > 1:
            ids = ", ".join(str(k) for k in owners)
            raise CommandError(f"{email} is known for several customers ({ids}): use --customer")
        return next(iter(owners.values()))
