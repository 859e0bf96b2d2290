from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from loxodon.channels.email.models import InboundMail, InboundStatus
from loxodon.channels.email.services import process_spooled_mail, reprocess_inbound


class Command(BaseCommand):
    help = (
        "Put spooled inbound mail on the customers' timelines (what `loxodon smtpd` and "
        "`loxodon fetch_mail` do themselves); --retry-failed also tries failed mail again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retry-failed", action="store_true", help="reprocess every failed message too"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts: Counter[str] = Counter(m.status for m in process_spooled_mail())
        retried = 0
        if options["retry_failed"]:
            for inbound in InboundMail.objects.filter(status=InboundStatus.FAILED).order_by(
                "received_at"
            ):
                counts[reprocess_inbound(inbound=inbound, actor=None).status] += 1
                retried += 1
        total = sum(counts.values())
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(
            f"{total} message(s) handled"
            + (f": {parts}" if parts else "")
            + (f" ({retried} failed message(s) retried)" if options["retry_failed"] else "")
        )
        if counts.get(InboundStatus.FAILED):
            self.stdout.write("Failed mail is kept and listed for supervisors at /desk/mail/.")
