"""Real processes for tests of the production profile: a throwaway PostgreSQL cluster, Redis,
and `loxodon serve` / `loxodon db_worker` as subprocesses (as docs/deploy.md runs them)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from loxodon.core.testing import free_port


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


@contextmanager
def pg_cluster() -> Iterator[Cluster]:
    """A new PostgreSQL cluster under /tmp on a free port with an empty `loxodon` database."""
    pg_bin, runas = _pg_bin(), _as_postgres()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
    if runas is None:
        pytest.skip("cannot run commands as the postgres user (need root or sudo -u postgres)")
    data = Path(tempfile.mkdtemp(prefix="loxodon-test-pg-"))
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


@contextmanager
def redis_server() -> Iterator[str]:
    """A real Redis on loopback with no persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, proc, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


def loxodon() -> str:
    """The `loxodon` console script of this environment."""
    return shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")


def production_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a production process (docs/deploy.md), on plain HTTP over loopback."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
        "LOXODON_DEBUG": "0",
        "LOXODON_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1 (TLS ends at the proxy)
        "LOXODON_SECRET_KEY": "process-test-" + uuid.uuid4().hex,
        "LOXODON_ALLOWED_HOSTS": "127.0.0.1",
        "LOXODON_VAR_DIR": str(var_dir),
        "LOXODON_DB_POOL_MAX": "8",  # docs/deploy.md: PostgreSQL through psycopg's pool
        **extra,
    }


def run_loxodon(env: dict[str, str], *args: str) -> str:
    """Run a `loxodon` command to completion; its stdout (fails the test with its stderr)."""
    done = subprocess.run([loxodon(), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"loxodon {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    return done.stdout


def wait_listening(
    port: int, proc: subprocess.Popen[bytes], what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                detail = log.read_text()[-3000:] if log is not None and log.exists() else ""
                pytest.fail(f"{what} did not start: {detail}")
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextmanager
def background(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running `loxodon` process (its output in `log`), stopped at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([loxodon(), *args], env=env, stdout=out, stderr=out)
        try:
            yield proc
        finally:
            stop(proc)


@contextmanager
def serve(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """`loxodon serve --workers N` on a free loopback port; yields its base URL."""
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with background(env, log, *args) as proc:
        wait_listening(port, proc, "loxodon serve", log)
        yield f"http://127.0.0.1:{port}"
