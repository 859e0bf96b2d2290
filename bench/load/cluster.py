"""A throwaway PostgreSQL cluster for the load test: its own data directory, port and socket
folder, listening on loopback only, always stopped at the end.

The data directory is kept between runs (under var/load/), so a prepared database is reused; the
server process never outlives the run. When running as root, initdb and pg_ctl run as the
`postgres` user (runuser), as .ci/run does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.server import HOST, free_port

DB_NAME = "loxodon_load"
SUPERUSER = "postgres"


def pg_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, or the one on PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *cmd] if os.geteuid() == 0 else cmd


class Cluster:
    def __init__(self, data_dir: Path) -> None:
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL binaries not found (/usr/lib/postgresql/*/bin)")
        self.bin = bin_dir
        self.data_dir = data_dir
        self.socket_dir = data_dir.parent / (data_dir.name + "-socket")
        self.port = free_port()
        self.running = False

    @property
    def url(self) -> str:
        return f"postgres://{SUPERUSER}@{HOST}:{self.port}/{DB_NAME}"

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(_as_postgres(cmd), check=True, stdout=sys.stderr, stderr=sys.stderr)

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, user=SUPERUSER, group=SUPERUSER)

    def init(self) -> bool:
        """initdb if the data directory is new; True when it was created now."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.socket_dir)
        if (self.data_dir / "PG_VERSION").exists():
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER]
        )
        return True

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={HOST} "
            "-c max_connections=200 -c shared_buffers=512MB"
        )
        log_file = self.data_dir.parent / (self.data_dir.name + ".log")
        if os.geteuid() == 0 and not log_file.exists():
            log_file.touch()
            self._chown(log_file)
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-o", options]
        self._run([*pg_ctl, "-l", str(log_file), "-w", "start"])
        self.running = True

    def create_database(self) -> None:
        """Create the load database in this cluster (which only the load test uses)."""
        import psycopg  # our dependency; imported here so SQLite runs never need it

        conninfo = f"host={HOST} port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if found.fetchone() is None:
                conn.execute(f"CREATE DATABASE {DB_NAME}")

    def recreate_database(self) -> None:
        """Drop and create the load database (only ever the load test's own, in its cluster)."""
        import psycopg

        conninfo = f"host={HOST} port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])


@contextmanager
def running_cluster(data_dir: Path) -> Iterator[Cluster]:
    cluster = Cluster(data_dir)
    cluster.init()
    try:
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.stop()
