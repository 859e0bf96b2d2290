from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from loxodon.channels.email.imap import Mailbox, MailboxError, fetch_mailbox
from loxodon.channels.email.services import process_spooled_mail


class Command(BaseCommand):
    help = (
        "Poll the IMAP mailbox (LOXODON_IMAP_* settings): spool unseen messages, mark them "
        "seen only once spooled, and put them on the customers' timelines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="poll once and exit")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="seconds between polls (default 60)"
        )

    def _mailbox(self) -> Mailbox:
        host = getattr(settings, "LOXODON_IMAP_HOST", "")
        user = getattr(settings, "LOXODON_IMAP_USER", "")
        if not host or not user:
            raise CommandError("set LOXODON_IMAP_HOST and LOXODON_IMAP_USER to poll a mailbox")
        return Mailbox(
            host=host,
            port=int(getattr(settings, "LOXODON_IMAP_PORT", 993)),
            user=user,
            password=getattr(settings, "LOXODON_IMAP_PASSWORD", ""),
            use_ssl=bool(getattr(settings, "LOXODON_IMAP_SSL", True)),
            folder=getattr(settings, "LOXODON_IMAP_FOLDER", "INBOX") or "INBOX",
            processed_folder=getattr(settings, "LOXODON_IMAP_PROCESSED_FOLDER", ""),
        )

    def _poll(self, box: Mailbox) -> None:
        report = fetch_mailbox(box)
        handled = process_spooled_mail()
        failed = sum(1 for m in handled if m.status == "failed")
        self.stdout.write(
            f"{report.spooled} message(s) fetched, {len(handled)} handled"
            + (f", {failed} failed (listed at /desk/mail/)" if failed else "")
            + (f"; {report.too_big} too big, left in the mailbox" if report.too_big else "")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        box = self._mailbox()
        if options["once"]:
            try:
                self._poll(box)
            except MailboxError as exc:
                raise CommandError(str(exc)) from exc
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.is_set():
            try:
                self._poll(box)
            except MailboxError as exc:
                self.stderr.write(f"{exc}; trying again in {options['interval']:.0f}s")
            finally:
                close_old_connections()
            stop.wait(options["interval"])
