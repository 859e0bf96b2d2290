from __future__ import annotations

import signal
import threading
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from loxodon.channels.email.mail_spool import MAX_MESSAGE_BYTES, SpoolHandler, spool_dir
from loxodon.channels.email.worker import SpoolWorker


class Command(BaseCommand):
    help = (
        "Run the inbound SMTP listener: accepted mail is spooled durably before the 250 reply, "
        "then put on the customer's timeline by a background worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument(
            "--spool-only",
            action="store_true",
            help="only spool; run `loxodon process_mail` elsewhere to process the spool",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=30.0,
            help="seconds between spool sweeps when no mail arrives (default 30)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        domain = settings.LOXODON_SUPPORT_EMAIL.rpartition("@")[2]
        worker = None if options["spool_only"] else SpoolWorker(interval=options["interval"])
        controller = Controller(
            SpoolHandler([domain], on_spooled=worker.notify if worker else None),
            hostname=options["host"],
            port=options["port"],
            data_size_limit=MAX_MESSAGE_BYTES,
            ident="Loxodon",
        )
        if worker is not None:
            worker.start()
        controller.start()
        self.stdout.write(
            f"Listening on {options['host']}:{options['port']} for *@{domain}; "
            f"spooling to {spool_dir()}"
            + ("" if worker else " (spool only: run `loxodon process_mail` to process)")
        )
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        if worker is not None:
            worker.stop()
