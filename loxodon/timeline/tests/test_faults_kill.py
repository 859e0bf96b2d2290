"""`kill -9` of the API server at each step of ingest (issue 10, item 17): after receiving, after
validating, before the commit and after the commit (before the answer). The test plays the
supervisor (restarts `loxodon serve`) and a real client (on a broken connection it sends the
same event again, with the same idempotency key). Afterwards: no event lost, none twice.

The process kills itself at a fault point (`loxodon.core.faults`), armed through the
environment for one server life at a time: the retry of the event that killed one life meets
the next armed point in the next life, so some events die twice before they are stored.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from loxodon.core.testing import database_url, event, free_port
from loxodon.org.models import User
from loxodon.org.services import create_api_token
from loxodon.timeline.models import Event

pytestmark = pytest.mark.slow

POINTS = ["ingest.received", "ingest.validated", "ingest.before_commit", "ingest.committed"]
EVENTS = 16


class Supervised:
    """`loxodon serve` in its own process, started again after it dies (as systemd would)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    def start(self, point: str | None) -> None:
        loxodon = shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "loxodon.settings",
            "LOXODON_VAR_DIR": str(self.tmp_path / "var"),
        }
        env.pop("LOXODON_FAULT_POINT", None)
        if point:
            env["LOXODON_FAULT_POINT"] = point
            env["LOXODON_FAULT_ONCE"] = str(self.tmp_path / f"{point}.fired")
        self.proc = subprocess.Popen(
            [loxodon, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.starts += 1
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"loxodon serve did not start (exit {self.proc.returncode})")
                time.sleep(0.05)

    def wait_dead(self) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=10)
        self.kills += code == -signal.SIGKILL
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.mark.django_db(transaction=True)
def test_serve_killed_at_every_step_of_ingest_loses_and_duplicates_nothing(
    tmp_path: Path, agent: User, customer: dict[str, Any]
) -> None:
    token = create_api_token(username=agent.username)
    server = Supervised(tmp_path)
    armed = list(POINTS)
    server.start(armed.pop(0))
    answers: dict[str, list[str]] = {}
    retries = 0
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        ) as http:
            for n in range(EVENTS):
                body = event(f"kill-{n}", customer_id=customer["id"], body=f"event {n}")
                for _attempt in range(len(POINTS) + 2):
                    try:
                        r = http.post("/api/v1/events", json=body)
                    except httpx.TransportError:
                        # No answer: the server died. Restart it (arming the next point) and
                        # send the very same event again, as any integration would.
                        assert server.wait_dead() == -signal.SIGKILL
                        server.start(armed.pop(0) if armed else None)
                        retries += 1
                        continue
                    assert r.status_code in (200, 201), r.text
                    answers.setdefault(body["external_id"], []).append(r.json()["id"])
                    break
                else:
                    pytest.fail(f"kill-{n} was never acknowledged")
    finally:
        server.stop()

    assert server.kills == len(POINTS)  # every point fired, once
    assert all((tmp_path / f"{point}.fired").exists() for point in POINTS)
    stored = Counter(
        Event.objects.filter(source="test", external_id__startswith="kill-").values_list(
            "external_id", flat=True
        )
    )
    assert stored == {f"kill-{n}": 1 for n in range(EVENTS)}  # zero lost, zero duplicated
    for external_id, ids in answers.items():
        (event_id,) = ids
        assert str(Event.objects.get(source="test", external_id=external_id).pk) == event_id
    print(  # figures for docs/reliability.md
        f"\nHTTP ingest kill -9: {EVENTS} events, {server.kills} kills (one at each of "
        f"{', '.join(POINTS)}), {server.starts} server starts, {retries} client retries, "
        f"{sum(stored.values())} events stored: 0 lost, 0 duplicated"
    )
