"""Fault points: named places where a test may kill the process, to prove nothing is lost.

`fault_point("ingest.before_commit")` does nothing in normal operation. When the environment
says `LOXODON_FAULT_POINT=ingest.before_commit`, the process sends itself SIGKILL there — no
cleanup, no `finally`, no flushing: exactly what a power cut or the OOM killer does. With
`LOXODON_FAULT_ONCE=<path>` it dies only the first time (the marker file is created just
before dying), so the restarted process with the same environment runs through.

The environment is read on every call (not at import time), so a test can arm a point in a
subprocess it starts. The points, in the order a delivery passes them:

Ingest (`POST /api/v1/events`, `/events/batch`; the middle two are in `ingest_events`, so
every channel that appends events through it passes them too):
    ingest.received     the request is read (the body decoded), nothing checked or written
    ingest.validated    the events are validated, nothing written
    ingest.before_commit  the rows are written, the transaction not yet committed
    ingest.committed    committed, the response not yet sent
Inbound mail (`loxodon smtpd`, `loxodon process_mail`):
    smtp.received       DATA received, not yet spooled (no 250 sent)
    smtp.spooled        spooled durably, the 250 not yet sent
    mail.parsed         a spooled message is claimed and parsed, nothing written for it
    mail.before_commit  its event and row are written, the transaction not yet committed
    mail.committed      committed, the raw file not yet filed away
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

POINTS = frozenset(
    {
        "ingest.received",
        "ingest.validated",
        "ingest.before_commit",
        "ingest.committed",
        "smtp.received",
        "smtp.spooled",
        "mail.parsed",
        "mail.before_commit",
        "mail.committed",
    }
)


def fault_point(name: str) -> None:
    """Die here (SIGKILL) if the environment arms this point; otherwise do nothing."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if os.environ.get("LOXODON_FAULT_POINT") != name:
        return
    once = os.environ.get("LOXODON_FAULT_ONCE")
    if once:
        marker = Path(once)
        try:
            marker.touch(exist_ok=False)  # the first process to get here dies; later ones pass
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)
