"""A throwaway PostgreSQL cluster for the benchmark: initdb (once), start on a free loopback
port, always stop at the end (also on an error, Ctrl-C or SIGTERM).

    with throwaway_cluster(VAR_DIR / "bench-pg") as cluster:
        url = cluster.url("postgres")

The binaries come from the newest /usr/lib/postgresql/<major>/bin (Debian's layout) or
$LOXODON_PG_BIN. As root, initdb and the server run as the `postgres` user (`runuser`), as
.ci/run does; the data directory is chowned to it. The server listens on 127.0.0.1 only, with
its Unix socket inside the data directory, and trusts local connections (it is a benchmark
fixture on loopback, never a deployment). The data directory is kept after the stop, so a
later run can reuse the fixture databases in it; delete it to start afresh.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 120
# Sized for this 2-core / 23 GB machine; planner costs are left at PostgreSQL's defaults.
# wal_level=minimal lets CREATE INDEX after the bulk load skip the WAL (no replicas here).
DEFAULT_SETTINGS: dict[str, str] = {
    "shared_buffers": "1GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "100",
}


def _log(message: str) -> None:
    print(f"[pgcluster] {message}", file=sys.stderr, flush=True)


def find_pg_bin() -> Path | None:
    """The newest PostgreSQL bin directory with initdb, pg_ctl and postgres, or None."""
    override = os.environ.get("LOXODON_PG_BIN")
    candidates = [Path(override)] if override else []
    if PG_ROOT.is_dir():
        majors = sorted(
            (p for p in PG_ROOT.iterdir() if p.name.split(".")[0].isdigit()),
            key=lambda p: float(p.name) if p.name.replace(".", "", 1).isdigit() else 0.0,
            reverse=True,
        )
        candidates += [m / "bin" for m in majors]
    for path in candidates:
        if all((path / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def missing_reason() -> str | None:
    """Why no throwaway cluster can be started here (None: it can)."""
    if find_pg_bin() is None:
        where = os.environ.get("LOXODON_PG_BIN") or f"{PG_ROOT}/*/bin"
        return f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) in {where}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, but there is no `postgres` user to run the server as"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as `postgres` then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Cluster:
    bin_dir: Path
    data_dir: Path
    port: int
    user: str = "postgres"
    settings: dict[str, str] = field(default_factory=dict)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{self.user}@{HOST}:{self.port}/{dbname}"

    @property
    def major(self) -> str:
        return (self.data_dir / "PG_VERSION").read_text().strip()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def peak_rss_mb(self) -> float:
        """Largest VmHWM of the server's processes (postmaster and backends alive now), MB.
        It counts the shared buffers a process touched, so it overstates private memory."""
        from bench.server import process_tree, vm_hwm_mb

        pid = self.postmaster_pid()
        if pid is None:
            return 0.0
        return round(max((vm_hwm_mb(p) for p in process_tree(pid)), default=0.0), 1)

    def _pg_ctl(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        subprocess.run(
            _as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]),
            check=True,
            stdout=sys.stderr,
            stderr=sys.stderr,
            timeout=timeout,
            start_new_session=True,  # Ctrl-C on the terminal reaches the bench, not the server
        )

    def start(self) -> None:
        options = [f"-p {self.port}", f"-k {self.data_dir}", f"-c listen_addresses={HOST}"]
        options += [f"-c {k}={v}" for k, v in self.settings.items()]
        log_file = self.data_dir / "server.log"
        wait = ("-w", "-t", str(START_TIMEOUT_S))
        self._pg_ctl(*wait, "-l", str(log_file), "-o", " ".join(options), "start")

    def stop(self) -> None:
        """Fast shutdown; if that fails, an immediate one; never raises."""
        if self.postmaster_pid() is None:
            return
        for mode in ("fast", "immediate"):
            try:
                self._pg_ctl("-m", mode, "-w", "-t", "60", "stop", timeout=90)
                return
            except (subprocess.SubprocessError, OSError) as exc:
                _log(f"pg_ctl stop -m {mode} failed: {exc}")
        pid = self.postmaster_pid()
        if pid is not None:
            with suppress(OSError):
                os.kill(pid, signal.SIGQUIT)


def _initdb(bin_dir: Path, data_dir: Path) -> None:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, mode=0o700)
    _chown_to_server_user(data_dir)
    _log(f"initdb {data_dir}")
    subprocess.run(
        _as_server_user(
            [
                *(str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres"),
                *("-A", "trust", "-E", "UTF8", "--locale", "C.UTF-8"),
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )


def _usable(data_dir: Path, bin_dir: Path) -> bool:
    """An initialised data directory of this major version."""
    version = data_dir / "PG_VERSION"
    return version.is_file() and version.read_text().strip() == bin_dir.parent.name


@contextmanager
def throwaway_cluster(
    data_dir: Path, settings: Mapping[str, str] | None = None
) -> Iterator[Cluster]:
    """Start a private cluster in data_dir (initdb first if needed) and stop it on exit."""
    bin_dir = find_pg_bin()
    reason = missing_reason()
    if bin_dir is None or reason:
        raise RuntimeError(reason or "no PostgreSQL binaries")
    data_dir = data_dir.resolve()
    if not _usable(data_dir, bin_dir):
        _initdb(bin_dir, data_dir)
    cluster = Cluster(bin_dir, data_dir, free_port(), settings=dict(settings or DEFAULT_SETTINGS))
    if cluster.postmaster_pid() is not None and _alive(cluster.postmaster_pid()):
        raise RuntimeError(
            f"a PostgreSQL server already runs on {data_dir} (another bench run?); "
            "stop it or wait for it"
        )
    try:
        started = time.perf_counter()
        cluster.start()
        _log(
            f"PostgreSQL {cluster.major} up on {HOST}:{cluster.port} "
            f"({data_dir}, {time.perf_counter() - started:.1f} s)"
        )
        yield cluster
    finally:
        cluster.stop()
        _log("PostgreSQL stopped")


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() in ("postgres", "postmaster")
    except OSError:
        return False
