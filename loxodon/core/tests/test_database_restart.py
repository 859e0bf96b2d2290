"""PostgreSQL restarted under load (issue 10, item 18): every request either commits or is
refused with 503 and Retry-After; no acknowledged write is missing afterwards; the running
server recovers by itself.

A throwaway PostgreSQL cluster (initdb under /tmp, a free port), the project migrated into it,
`loxodon serve` (uvicorn, persistent connections with health checks, as in production), client
threads posting events with idempotency keys, and `pg_ctl restart -m fast` in the middle.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from loxodon.core.testing import free_port

pytestmark = pytest.mark.slow

CLIENTS = 4
LOAD_SECONDS = 8.0
RESTART_AT = 3.0
SOURCE = "restart-test"


def _pg_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.iterdir(), key=lambda p: p.name) if root.is_dir() else []
    for version in reversed(versions):
        if (version / "bin" / "initdb").exists():
            return version / "bin"
    return None


def _as_postgres() -> list[str] | None:
    """How to run a command as the `postgres` user (as .ci/run does), or None if we cannot."""
    if os.geteuid() == 0 and shutil.which("runuser"):
        return [str(shutil.which("runuser")), "-u", "postgres", "--"]
    sudo = shutil.which("sudo")
    if sudo:
        probe = subprocess.run(
            [sudo, "-n", "-u", "postgres", "/bin/true"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [sudo, "-n", "-u", "postgres"]
    return None


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    runas: list[str]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/loxodon"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.runas, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin, runas = _pg_bin(), _as_postgres()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    if runas is None:
        pytest.skip("cannot run commands as the postgres user (need root or sudo -u postgres)")
    data = Path(tempfile.mkdtemp(prefix="loxodon-restart-pg-"))
    shutil.chown(data, "postgres", "postgres")
    port = free_port()
    found = Cluster(pg_bin, data, port, runas)
    subprocess.run(
        [*runas, str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    found.ctl("-l", str(data / "server.log"), "-o", options, "start")
    try:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE loxodon")
        yield found
    finally:
        try:
            found.ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(data, ignore_errors=True)


def _loxodon() -> str:
    return shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")


def _env(cluster: Cluster, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
        "LOXODON_DEBUG": "0",
        "LOXODON_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1 (TLS ends at the proxy)
        "LOXODON_SECRET_KEY": "restart-test-" + uuid.uuid4().hex,
        "LOXODON_VAR_DIR": str(tmp_path / "var"),
        "LOXODON_CONN_MAX_AGE": "600",  # persistent connections: the restart breaks them
    }


def _setup(env: dict[str, str]) -> str:
    """Migrate and create a member of staff with an API token; returns the token."""
    subprocess.run([_loxodon(), "migrate", "--noinput"], env=env, check=True, capture_output=True)
    script = (
        "from loxodon.org.services import create_site, create_staff, create_api_token\n"
        "site = create_site(code='lon', name='London')\n"
        "create_staff(username='ann', password='x-very-long-password-1', site=site)\n"
        "print(create_api_token(username='ann'))\n"
    )
    out = subprocess.run(
        [_loxodon(), "shell", "-c", script], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = _env(cluster, tmp_path)
    token = _setup(env)
    port = free_port()
    proc = subprocess.Popen(
        [_loxodon(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 (closed with the process)
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("loxodon serve did not start: " + (tmp_path / "serve.log").read_text())
            time.sleep(0.1)
    yield url, token
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _event(external_id: str) -> dict[str, object]:
    return {
        "source": SOURCE,
        "external_id": external_id,
        "channel": "email",
        "kind": "message",
        "occurred_at": "2026-11-20T10:00:00+00:00",
        "summary": f"Load {external_id}",
        "customer": {"email": f"load-{external_id[-1]}@example.com"},
    }


def test_postgres_restart_under_load_loses_no_acknowledged_write(
    cluster: Cluster, server: tuple[str, str]
) -> None:
    url, token = server
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: set[str] = set()
    statuses: Counter[str] = Counter()
    problems: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + LOAD_SECONDS

    def client(n: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            i = 0
            while time.monotonic() < stop_at:
                key = f"c{n}-{i}"
                i += 1
                # A real client: on 503 it waits (briefly here) and retries with the same key.
                for _attempt in range(50):
                    try:
                        r = http.post("/api/v1/events", json=_event(key))
                    except httpx.TransportError as exc:
                        with lock:
                            problems.append(f"{key}: connection error {exc!r}")
                        return
                    with lock:
                        statuses[str(r.status_code)] += 1
                    if r.status_code in (200, 201):
                        with lock:
                            acknowledged.add(key)
                        break
                    if r.status_code == 503 and r.headers.get("Retry-After", "").isdigit():
                        if "retry" not in r.json().get("detail", ""):
                            problems.append(f"{key}: 503 without a clear detail: {r.text}")
                        time.sleep(0.2)
                        continue
                    with lock:
                        problems.append(f"{key}: {r.status_code} {r.headers} {r.text[:300]}")
                    return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(RESTART_AT)
    restart_began = time.monotonic()
    cluster.ctl("-l", str(cluster.data / "server.log"), "-m", "fast", "restart")
    restart_took = time.monotonic() - restart_began
    for t in threads:
        t.join(timeout=LOAD_SECONDS + 60)
    assert not problems, problems[:5]

    # The server recovered on its own (no restart of `loxodon serve`): a fresh write is 201.
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        probe = http.post("/api/v1/events", json=_event("after-restart-0"))
    assert probe.status_code == 201, probe.text

    with psycopg.connect(cluster.url.replace("postgres://", "postgresql://")) as conn:
        rows = [
            row[0]
            for row in conn.execute(
                "SELECT external_id FROM timeline_event WHERE source = %s", (SOURCE,)
            )
        ]
    stored = set(rows)
    assert len(rows) == len(stored)  # a retried request never stored its event twice
    lost = acknowledged - stored
    assert not lost, f"{len(lost)} acknowledged events missing: {sorted(lost)[:10]}"
    requests = sum(statuses.values())
    assert statuses["503"] >= 1, f"the restart was not noticed at all: {statuses}"
    assert set(statuses) <= {"200", "201", "503"}, statuses
    print(  # figures for docs/reliability.md
        f"\nPostgreSQL restart under load: {requests} requests from {CLIENTS} clients over "
        f"{LOAD_SECONDS:.0f} s, restart took {restart_took:.1f} s, {statuses['503']} answered "
        f"503 + Retry-After, {len(acknowledged)} acknowledged, {len(lost)} lost; "
        "recovered without restarting the server"
    )


class _AdminShutdown(Exception):
    sqlstate = "57P01"  # what psycopg reports when PostgreSQL is restarted under a session


def _operational(message: str, cause: Exception | None = None) -> Exception:
    from django.db import OperationalError

    exc = OperationalError(message)
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (_operational("terminating connection", _AdminShutdown()), True),
        (_operational("connection failed: Connection refused"), True),
        (_operational("the database system is starting up"), True),
        (_operational("database is locked"), True),
        (_operational("no such table: timeline_event"), False),
        (ValueError("connection"), False),
    ],
    ids=["admin-shutdown", "refused", "starting-up", "sqlite-locked", "missing-table", "other"],
)
def test_only_an_unreachable_database_is_a_503(exc: Exception, unavailable: bool) -> None:
    from django.test import RequestFactory

    from loxodon.core.middleware import DatabaseUnavailableMiddleware, is_database_unavailable

    assert is_database_unavailable(exc) is unavailable
    middleware = DatabaseUnavailableMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    page = middleware.process_exception(RequestFactory().get("/desk/"), exc)
    if not unavailable:
        assert page is None  # a real bug stays a 500 (and is reported as one)
        return
    assert page is not None and page.status_code == 503
    assert page["Retry-After"].isdigit()
    assert page["Content-Type"].startswith("text/html") and b"try again" in page.content
    api = middleware.process_exception(RequestFactory().post("/api/v1/events"), exc)
    assert api is not None and api.status_code == 503 and api["Retry-After"].isdigit()
    assert api["Content-Type"] == "application/json" and b"nothing was saved" in api.content
