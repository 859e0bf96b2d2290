"""The load test's PostgreSQL: the bench's throwaway cluster (bench/pgcluster.py) in a data
directory of its own under var/load/, kept between runs so that a prepared database is reused,
always stopped at the end. Settings are a production server's, not the bulk loader's: WAL at
PostgreSQL's default level (the bench's `wal_level=minimal` only speeds up its COPY load).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.pgcluster import Cluster, throwaway_cluster

DB_NAME = "loxodon_load"
SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "16MB",
    # Django under ASGI opens one connection per request in flight (a thread each): room for
    # 200 agents plus the worker; the report gives the most sessions seen.
    "max_connections": "300",
}


@dataclass
class LoadCluster:
    cluster: Cluster

    @property
    def url(self) -> str:
        return self.cluster.url(DB_NAME)

    def create_database(self) -> None:
        """Create the load database (this cluster is the load test's alone)."""
        import psycopg

        with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if found.fetchone() is None:
                conn.execute(f"CREATE DATABASE {DB_NAME}")

    def recreate_database(self) -> None:
        """Drop and create the load database (only ever the load test's own)."""
        import psycopg

        with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")

    def connections(self) -> int:
        """Sessions open on the load database now (the server's and the worker's)."""
        import psycopg

        with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
            ).fetchone()
        return int(row[0]) if row else 0

    def peak_rss_mb(self) -> float:
        return self.cluster.peak_rss_mb()


@contextmanager
def running_cluster(data_dir: Path) -> Iterator[LoadCluster]:
    with throwaway_cluster(data_dir, SETTINGS) as cluster:
        load = LoadCluster(cluster)
        load.create_database()
        yield load
