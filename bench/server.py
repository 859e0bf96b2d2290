"""The real production server (`loxodon serve`, uvicorn) as a subprocess on loopback."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.config import BenchConfig, bench_env, loxodon_command

HOST = "127.0.0.1"  # all benchmark traffic stays on loopback
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_env(config: BenchConfig, secret_key: str) -> dict[str, str]:
    return bench_env(
        config,
        LOXODON_DEBUG="0",
        LOXODON_SECRET_KEY=secret_key,
        LOXODON_ALLOWED_HOSTS=HOST,
        LOXODON_SSL_REDIRECT="0",  # plain HTTP on loopback: no redirect to https
        LOXODON_LOG_LEVEL="WARNING",
    )


class Server:
    """One `loxodon serve` process; stop() is safe to call any number of times."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.port = free_port()
        self.secret_key = secrets.token_urlsafe(48)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return server_env(self.config, self.secret_key)

    def start(self) -> None:
        cmd = [*loxodon_command(), "serve", "--host", HOST, "--port", str(self.port)]
        cmd += ["--workers", str(self.config.workers)]
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=sys.stderr, stderr=sys.stderr, start_new_session=True
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"loxodon serve exited early (code {code})")
            try:
                httpx.get(f"{self.base_url}/api/v1/openapi.json", timeout=5.0)  # no auth needed
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"loxodon serve did not answer within {READY_TIMEOUT_S:.0f} s")

    def create_token(self, username: str) -> str:
        out = subprocess.run(
            [*loxodon_command(), "create_api_token", username, "--name", "bench"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def peak_rss_mb(self) -> float:
        """Largest VmHWM of the server process and its worker processes, in MB."""
        if self.proc is None:
            return 0.0
        return max((vm_hwm_mb(pid) for pid in process_tree(self.proc.pid)), default=0.0)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully on SIGINT
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the server and its workers
            proc.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def running_server(config: BenchConfig) -> Iterator[Server]:
    server = Server(config)
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn --workers N runs a supervisor and N children)."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 1000:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in children.read_text().split())
            except OSError:  # the thread or process ended meanwhile
                continue
    return found


def vm_hwm_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB → MB
    return 0.0
