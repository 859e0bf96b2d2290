"""`python -m bench.run`: load (or reuse) the fixture, start the server, measure, print JSON.

Progress and logs go to stderr; stdout carries exactly one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench.config import BENCH_USER, PROJECT_DIR, BenchConfig, parse_args
from bench.desk import DeskSample, measure_desk, sample_desk, set_desk_password
from bench.loader import FixtureError, LoadInfo, load_in_child, log
from bench.machine import bench_peak_rss_mb, code_version, machine_info
from bench.measure import measure_ingest, measure_views
from bench.server import running_server

INGEST_POOL = 2000  # distinct customers the ingested events are spread over


def _ro(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def customer_ids(db_path: Path, rowids: list[int]) -> list[str]:
    """API ids (dashed UUIDs) of customers by rowid (the n-th customer loaded), in order."""
    found: dict[int, str] = {}
    conn = _ro(db_path)
    try:
        for i in range(0, len(rowids), 500):
            chunk = sorted(set(rowids[i : i + 500]))
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rowid, id FROM customers_customer WHERE rowid IN ({marks})"
            found.update((r, str(uuid.UUID(hex_id))) for r, hex_id in conn.execute(sql, chunk))
    finally:
        conn.close()
    return [found[r] for r in rowids]


def typical_rowids(config: BenchConfig, heavy: list[int], k: int) -> list[int]:
    heavy_set = set(heavy)
    population = [r for r in range(1, config.customers + 1) if r not in heavy_set]
    if len(population) >= k:
        return random.sample(population, k)
    return random.choices(population, k=k)


def scale_report(config: BenchConfig, info: LoadInfo) -> dict[str, Any]:
    conn = _ro(config.db_path)
    try:
        heavy_counts = [
            conn.execute(
                "SELECT count(*) FROM timeline_event WHERE customer_id = "
                "(SELECT id FROM customers_customer WHERE rowid = ?)",
                (r,),
            ).fetchone()[0]
            for r in info.heavy_rowids
        ]
        in_db = conn.execute("SELECT count(*) FROM timeline_event").fetchone()[0]
    finally:
        conn.close()
    return {
        "customers": config.customers,
        "events_loaded": config.events,
        "events_in_db": in_db,
        "heavy_customers": len(info.heavy_rowids),
        "heavy_events_min": min(heavy_counts),
        "heavy_events_max": max(heavy_counts),
        "typical_events_mean": round(
            (config.events - sum(heavy_counts)) / (config.customers - len(heavy_counts)), 1
        ),
        "db_file": str(config.db_path),
        "db_size_mb": round(config.db_path.stat().st_size / 1e6, 1),
        "reused_db": info.reused,
    }


@dataclass(frozen=True)
class Sample:
    """Separate customers for warm-up, timed views and ingest: timed views see loaded data only."""

    warm: list[str]
    viewed: list[str]
    ingest: list[str]
    heavy: list[str]


def sample_customers(config: BenchConfig, info: LoadInfo) -> Sample:
    warm_n, view_n = max(20, config.view_requests // 10), config.view_requests
    pool = INGEST_POOL if config.customers > 10 * INGEST_POOL else config.customers // 10 + 1
    rowids = typical_rowids(config, info.heavy_rowids, warm_n + view_n + pool)
    ids = customer_ids(config.db_path, rowids)
    heavy_ids = customer_ids(config.db_path, info.heavy_rowids)
    return Sample(
        warm=ids[:warm_n],
        viewed=ids[warm_n : warm_n + view_n],
        ingest=ids[warm_n + view_n :],
        heavy=random.choices(heavy_ids, k=config.heavy_requests),
    )


def desk_sample(config: BenchConfig, info: LoadInfo, api: Sample) -> DeskSample:
    """Customers and cases for the desk pages, apart from those the API measurements touch.
    Its own random generator: the API measurements get the same customers as without it."""
    return sample_desk(
        config.db_path,
        info.heavy_rowids,
        [*api.warm, *api.viewed, *api.ingest],
        config.desk_requests,
        config.desk_heavy_requests,
        random.Random(f"desk-{config.seed}"),
    )


def measure(config: BenchConfig, info: LoadInfo) -> dict[str, Any]:
    """Start the server, run every measurement, stop the server (always)."""
    sample = sample_customers(config, info)
    desk = desk_sample(config, info, sample)
    desk_password = set_desk_password(config, BENCH_USER)
    with running_server(config) as server:
        log(f"server up at {server.base_url} (workers={config.workers})")
        token = server.create_token(BENCH_USER)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120.0) as client:
            ingest = measure_ingest(client, sample.ingest, config.batches, config.batch_size)
            view_typical, view_heavy = measure_views(
                client, sample.warm, sample.viewed, sample.heavy
            )
        desk_pages = measure_desk(server.base_url, BENCH_USER, desk_password, desk)
        server_rss = round(server.peak_rss_mb(), 1)
    return {
        "ingest": ingest,
        "view_typical": view_typical,
        "view_heavy": view_heavy,
        **desk_pages,
        "peak_rss_mb": {"server": server_rss, "bench": bench_peak_rss_mb()},
    }


def _child_json(module: str, args: list[str]) -> dict[str, Any]:
    """Run `python -m <module> <args>` (its own process, memory and database) → its JSON."""
    log(f"python -m {module} {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=True,
        cwd=PROJECT_DIR,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    report.pop("machine", None)  # the same machine as the whole report's
    report.pop("code", None)
    return report


def measure_identity(config: BenchConfig) -> dict[str, Any]:
    """Identity resolution: batch linkage accuracy and speed, real-time resolve latency."""
    out: dict[str, Any] = {}
    linkage_args = ["--febrl"] if config.febrl else []
    if config.identity_records:
        linkage_args += ["--records", str(config.identity_records)]
    if linkage_args:
        out["linkage"] = _child_json("bench.identity", linkage_args)
    if config.resolve_customers:
        out["resolve"] = _child_json(
            "bench.resolve", ["--customers", str(config.resolve_customers), "--seed", "7"]
        )
    return out


def measure_knowledge(config: BenchConfig) -> dict[str, Any]:
    """Knowledge search: index build and query latency at `--knowledge-articles` articles."""
    if not config.knowledge_articles:
        return {}
    return _child_json(
        "bench.knowledge", ["--articles", str(config.knowledge_articles), "--seed", "11"]
    )


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: the server is stopped


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    os.environ["DATABASE_URL"] = config.database_url  # this process and its children
    signal.signal(signal.SIGTERM, _on_sigterm)
    random.seed(config.seed)
    started = datetime.now(UTC)
    machine = machine_info()
    try:
        info, loader_rss = load_in_child(config)
        results = measure(config, info)
        results["identity"] = measure_identity(config)
        results["knowledge"] = measure_knowledge(config)
    except FixtureError as exc:
        log(str(exc))
        return 2
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        log(f"failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    results["peak_rss_mb"]["loader"] = loader_rss
    machine["loadavg_1m_end"] = round(os.getloadavg()[0], 2)  # shared machine: how noisy
    report = {
        "date": started.date().isoformat(),
        "scale": scale_report(config, info),
        "database": "sqlite",
        "code": code_version(),
        "server": {"command": "loxodon serve (uvicorn)", "workers": config.workers},
        **results,
        "load_seconds": round(info.load_seconds, 1),
        "machine": machine,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
