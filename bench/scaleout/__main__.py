"""python -m bench.scaleout: load, ingest with 1..N processes, partitioning; JSON on stdout."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from bench.machine import code_version, machine_info
from bench.scaleout import ingest, observe, partition, pgload


def _procs(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.scaleout",
        description="Measured simulation of one PostgreSQL as the bottleneck: event ingest with "
        "1..N processes (HTTP and direct service), and the event table partitioned by "
        "customer or by time. The database is emptied and loaded: give it a throwaway one.",
    )
    p.add_argument("--url", required=True, help="postgres://... of a throwaway database")
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--procs", type=_procs, default=[1, 2, 4, 8], help="e.g. 1,2,4,8")
    p.add_argument(
        "--variants", default="http,service", help="http,service,view (view: 360-view reads)"
    )
    p.add_argument("--duration", type=float, default=20.0, help="seconds per ingest step")
    p.add_argument("--rounds", type=int, default=1, help="repeat the whole ingest sweep")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--skip-ingest", action="store_true")
    p.add_argument("--skip-partition", action="store_true")
    p.add_argument("--partition-rounds", type=int, default=30, help="ingest batches per variant")
    p.add_argument("--query-customers", type=int, default=300, help="typical customers timed")
    p.add_argument(
        "--partition-variants",
        default=",".join(partition.VARIANTS),
        help=f"which copies of the event table (default: {','.join(partition.VARIANTS)})",
    )
    p.add_argument(
        "--keep-tables", action="store_true", help="reuse copies built by an earlier run"
    )
    return p


def main(argv: list[str] | None = None) -> None:
    a = _parser().parse_args(argv)
    host = urlsplit(a.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the scale-out simulation only runs against a loopback server")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "loxodon.settings"}
    started = time.perf_counter()
    report: dict[str, Any] = {
        "machine": machine_info(),
        "code": code_version(),
        "loadavg_start": observe.loadavg(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    report["fixture"] = pgload.load(a.url, env, a.customers, a.events, a.seed)
    heavy = pgload.heavy_customers(a.url)
    typical = pgload.typical_customers(a.url, 20_000)
    with __import__("psycopg").connect(a.url) as conn:
        report["postgresql"] = {
            k: conn.execute(f"SHOW {k}").fetchone()[0]
            for k in ("server_version", "shared_buffers", "synchronous_commit", "fsync",
                      "wal_level", "max_wal_size", "checkpoint_timeout")
        }  # fmt: skip
    if not a.skip_partition:
        variants = tuple(a.partition_variants.split(","))
        report["partitioning"] = {
            "tables": partition.build(a.url, variants, keep=a.keep_tables),
            "queries": partition.measure_queries(
                a.url, variants, typical[: a.query_customers], heavy, repeats=5
            ),
            "ingest": partition.measure_ingest(a.url, variants, typical, a.partition_rounds),
        }
    if not a.skip_ingest:
        report["ingest"] = ingest.run(
            a.url,
            typical,
            a.procs,
            a.variants.split(","),
            a.duration,
            a.batch_size,
            a.rounds,
        )
    report["loadavg_end"] = observe.loadavg()
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=2, default=str)
    print()


if __name__ == "__main__":
    main()
