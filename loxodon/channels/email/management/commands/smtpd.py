from __future__ import annotations

import signal
import threading
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from loxodon.channels.email.mail_spool import MAX_MESSAGE_BYTES, SpoolHandler, spool_dir


class Command(BaseCommand):
    help = "Run the inbound SMTP listener: accepted mail is spooled durably before the 250 reply."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: Any, **options: Any) -> None:
        domain = settings.LOXODON_SUPPORT_EMAIL.rpartition("@")[2]
        controller = Controller(
            SpoolHandler([domain]),
            hostname=options["host"],
            port=options["port"],
            data_size_limit=MAX_MESSAGE_BYTES,
            ident="Loxodon",
        )
        controller.start()
        self.stdout.write(
            f"Listening on {options['host']}:{options['port']} for *@{domain}; "
            f"spooling to {spool_dir()}"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        controller.stop()
