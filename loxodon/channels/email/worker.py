"""The background worker of `loxodon smtpd`: puts spooled mail on the timeline.

The SMTP listener answers 250 as soon as a message is safely spooled; this thread is woken at
that moment and processes what is waiting (and also every `interval` seconds, to pick up
files other processes spooled, e.g. `fetch_mail`, or left after a crash). Processing errors
are logged and never stop the worker: the message itself is kept as failed mail.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from django.db import close_old_connections, connection

from loxodon.channels.email.services import process_spooled_mail

log = logging.getLogger(__name__)


class SpoolWorker:
    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-spool-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self, path: Path | None = None) -> None:
        """A message was spooled: process it now."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def drain(self) -> int:
        """Process everything waiting now; returns how many messages were handled."""
        try:
            return len(process_spooled_mail())
        except Exception:
            log.exception("processing the mail spool failed; the files stay in the spool")
            return 0
        finally:
            close_old_connections()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                self.drain()
                self._wake.wait(self.interval)
        finally:
            connection.close()
