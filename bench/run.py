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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import httpx

from bench.config import (
    BENCH_USER,
    PG_DATA_DIR,
    PG_DB_PREFIX,
    PROJECT_DIR,
    BenchConfig,
    parse_args,
)
from bench.desk import DeskSample, measure_desk, sample_desk, set_desk_password
from bench.fixture import Fixture, customer_ids, open_fixture
from bench.loader import FixtureError, LoadInfo, load_in_child, log
from bench.machine import bench_peak_rss_mb, code_version, machine_info
from bench.measure import measure_ingest, measure_views
from bench.pgcluster import Cluster, throwaway_cluster
from bench.pgcluster import missing_reason as pg_missing_reason
from bench.pgloader import (
    bench_database_url,
    ensure_database,
    redact,
    server_version,
    with_database,
)
from bench.server import running_server

INGEST_POOL = 2000  # distinct customers the ingested events are spread over


def typical_rowids(config: BenchConfig, heavy: list[int], k: int) -> list[int]:
    heavy_set = set(heavy)
    population = [r for r in range(1, config.customers + 1) if r not in heavy_set]
    if len(population) >= k:
        return random.sample(population, k)
    return random.choices(population, k=k)


def scale_report(config: BenchConfig, info: LoadInfo, fixture: Fixture) -> dict[str, Any]:
    heavy_counts = fixture.event_counts(info.heavy_rowids)
    where = "db_file" if config.backend == "sqlite" else "database"
    return {
        "customers": config.customers,
        "events_loaded": config.events,
        "events_in_db": fixture.total_events(),
        "heavy_customers": len(info.heavy_rowids),
        "heavy_events_min": min(heavy_counts),
        "heavy_events_max": max(heavy_counts),
        "typical_events_mean": round(
            (config.events - sum(heavy_counts)) / (config.customers - len(heavy_counts)), 1
        ),
        where: fixture.location(),
        "db_size_mb": fixture.size_mb(),
        "reused_db": info.reused,
    }


@dataclass(frozen=True)
class Sample:
    """Separate customers for warm-up, timed views and ingest: timed views see loaded data only."""

    warm: list[str]
    viewed: list[str]
    ingest: list[str]
    heavy: list[str]


def sample_customers(config: BenchConfig, info: LoadInfo, fixture: Fixture) -> Sample:
    warm_n, view_n = max(20, config.view_requests // 10), config.view_requests
    pool = INGEST_POOL if config.customers > 10 * INGEST_POOL else config.customers // 10 + 1
    rowids = typical_rowids(config, info.heavy_rowids, warm_n + view_n + pool)
    ids = customer_ids(fixture, rowids)
    heavy_ids = customer_ids(fixture, info.heavy_rowids)
    return Sample(
        warm=ids[:warm_n],
        viewed=ids[warm_n : warm_n + view_n],
        ingest=ids[warm_n + view_n :],
        heavy=random.choices(heavy_ids, k=config.heavy_requests),
    )


def desk_sample(config: BenchConfig, info: LoadInfo, api: Sample, fixture: Fixture) -> DeskSample:
    """Customers and cases for the desk pages, apart from those the API measurements touch.
    Its own random generator: the API measurements get the same customers as without it."""
    return sample_desk(
        fixture,
        info.heavy_rowids,
        [*api.warm, *api.viewed, *api.ingest],
        config.desk_requests,
        config.desk_heavy_requests,
        random.Random(f"desk-{config.seed}"),
    )


def measure(
    config: BenchConfig,
    info: LoadInfo,
    fixture: Fixture,
    database_rss: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Start the server, run every measurement, stop the server (always)."""
    random.seed(config.seed)  # the same customers on every backend
    sample = sample_customers(config, info, fixture)
    desk = desk_sample(config, info, sample, fixture)
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
        rss = {"server": server_rss, "bench": bench_peak_rss_mb()}
        if database_rss is not None:  # while the server's connections are still open
            rss["postgres"] = database_rss()
    return {
        "ingest": ingest,
        "view_typical": view_typical,
        "view_heavy": view_heavy,
        **desk_pages,
        "peak_rss_mb": rss,
    }


def _child_json(module: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m <module> <args>` (its own process, memory and database) → its JSON."""
    log(f"python -m {module} {' '.join(redact_args(args))}")
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=True,
        cwd=PROJECT_DIR,
        env=env,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    report.pop("machine", None)  # the same machine as the whole report's
    report.pop("code", None)
    return report


def redact_args(args: list[str]) -> list[str]:
    return [redact(a) if a.startswith(("postgres://", "postgresql://")) else a for a in args]


def measure_linkage(config: BenchConfig) -> dict[str, Any]:
    """Batch linkage accuracy and speed. It links in memory and never uses the Loxodon
    database, so it runs once per report, not per backend."""
    linkage_args = ["--febrl"] if config.febrl else []
    if config.identity_records:
        linkage_args += ["--records", str(config.identity_records)]
    if not linkage_args:
        return {}
    return _child_json("bench.identity", linkage_args)


def measure_resolve(config: BenchConfig, server_url: str | None) -> dict[str, Any]:
    """Real-time resolve latency, in-process in a child, against its own database."""
    if not config.resolve_customers:
        return {"skipped": "--resolve-customers 0"}
    args = ["--customers", str(config.resolve_customers), "--seed", "7"]
    args += ["--queries", str(config.resolve_queries)]
    if config.backend == "postgresql" and server_url:
        url = with_database(server_url, f"{PG_DB_PREFIX}_resolve_{config.resolve_customers}")
        args += ["--database-url", url]
    return _child_json("bench.resolve", args)


def measure_knowledge(config: BenchConfig, server_url: str | None) -> dict[str, Any]:
    """Knowledge search: index build and query latency at `--knowledge-articles` articles."""
    if not config.knowledge_articles:
        return {"skipped": "--knowledge-articles 0"}
    args = ["--articles", str(config.knowledge_articles), "--seed", "11"]
    args += ["--queries", str(config.knowledge_queries)]
    if config.backend == "postgresql" and server_url:
        url = with_database(server_url, f"{PG_DB_PREFIX}_knowledge")
        ensure_database(url)  # bench.knowledge migrates it and replaces its knowledge rows
        args += ["--database-url", url]
    return _child_json("bench.knowledge", args)


def run_backend(
    config: BenchConfig, server_url: str | None = None, cluster: Cluster | None = None
) -> dict[str, Any]:
    """Everything measured on one backend: one section of the report."""
    started = time.perf_counter()
    os.environ["DATABASE_URL"] = config.database_url  # this process and its children
    log(f"=== {config.backend}: {config.customers:,} customers, {config.events:,} events")
    info, loader_rss = load_in_child(config)
    fixture = open_fixture(config)
    database: dict[str, Any] = {"vendor": config.backend}
    if config.backend == "postgresql":
        database["server_version"] = server_version(config.database_url)
        database["server"] = (
            "the bench's own throwaway cluster" if cluster else "existing (--postgres-url)"
        )
        if cluster:
            database["settings"] = cluster.settings
    else:
        database["sqlite_version"] = sqlite3.sqlite_version
    results = measure(config, info, fixture, cluster.peak_rss_mb if cluster else None)
    results["peak_rss_mb"]["loader"] = loader_rss
    results["identity"] = {"resolve": measure_resolve(config, server_url)}
    results["knowledge"] = measure_knowledge(config, server_url)
    return {
        "database": database,
        "scale": scale_report(config, info, fixture),
        **results,
        "load_seconds": round(info.load_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def choose_backends(config: BenchConfig) -> tuple[list[str], dict[str, str]]:
    """(backends to run, {skipped backend: why}); `auto` skips PostgreSQL where it is missing."""
    reason = None if config.postgres_url else pg_missing_reason()
    if config.database_choice == "auto" and reason:
        return ["sqlite"], {"postgresql": f"skipped: {reason} (and no --postgres-url)"}
    if "postgresql" in config.backends and reason:
        raise FixtureError(f"--database {config.database_choice}: {reason}; give --postgres-url")
    return list(config.backends), {}


@contextmanager
def postgres_server(config: BenchConfig) -> Iterator[tuple[str, Cluster | None]]:
    """(server URL, own cluster or None): --postgres-url, or a throwaway cluster, always
    stopped on the way out."""
    if config.postgres_url:
        yield config.postgres_url, None
        return
    with throwaway_cluster(PG_DATA_DIR) as cluster:
        yield cluster.url("postgres"), cluster


def run_postgres(config: BenchConfig) -> dict[str, Any]:
    with postgres_server(config) as (server_url, cluster):
        pg_config = replace(
            config,
            backend="postgresql",
            pg_database_url=bench_database_url(server_url, config.pg_database),
        )
        return run_backend(pg_config, server_url, cluster)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: servers are stopped


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = machine_info()
    report: dict[str, Any] = {
        "date": started_at.date().isoformat(),
        "scale": {
            "preset": config.scale_name,
            "customers": config.customers,
            "events": config.events,
        },
        "code": code_version(),
        "server": {"command": "loxodon serve (uvicorn)", "workers": config.workers},
    }
    failed = False
    try:
        backends, skipped = choose_backends(config)
        report["databases"] = backends
        report.update(skipped)
        for backend in backends:
            try:
                if backend == "postgresql":
                    report["postgresql"] = run_postgres(config)
                else:
                    report["sqlite"] = run_backend(replace(config, backend="sqlite"))
            except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
                if isinstance(exc, FixtureError):
                    raise
                log(f"{backend} failed: {exc}")
                report[backend] = {"error": str(exc)}
                failed = True
        report["identity_linkage"] = measure_linkage(config)
    except FixtureError as exc:
        log(str(exc))
        return 2
    except subprocess.CalledProcessError as exc:
        log(f"failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    machine["loadavg_1m_end"] = round(os.getloadavg()[0], 2)  # shared machine: how noisy
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    report["machine"] = machine
    print(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
