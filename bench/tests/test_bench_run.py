"""`python -m bench.run` end to end at a tiny scale: load, real server, every measurement, JSON.

On SQLite always; on PostgreSQL as well when DATABASE_URL points at a PostgreSQL server (CI's
second pass), through `--postgres-url`: the bench makes its own databases there (and this test
drops them again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.config import PG_DB_PREFIX, PROJECT_DIR

pytestmark = pytest.mark.slow

CUSTOMERS, EVENTS = 300, 3000
TINY = [
    *("--customers", str(CUSTOMERS), "--events", str(EVENTS)),
    *("--requests", "20", "--heavy-requests", "5"),
    *("--desk-requests", "5", "--desk-heavy-requests", "3"),
    *("--batches", "2", "--batch-size", "50"),
    *("--identity-records", "0", "--no-febrl"),
    *("--resolve-customers", "300", "--resolve-queries", "20"),
    *("--knowledge-articles", "200", "--knowledge-queries", "20"),
]
LATENCY = ("p50_ms", "p95_ms", "p99_ms")


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _run(args: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the bench sets its own
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)  # stdout is exactly one JSON object
    return report


def _assert_latency(stats: dict[str, Any], n: int) -> None:
    assert stats["n"] == n
    for key in LATENCY:
        assert stats[key] > 0, (key, stats)
    assert stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"]


def _assert_section(section: dict[str, Any], vendor: str) -> None:
    assert section["database"]["vendor"] == vendor
    scale = section["scale"]
    assert scale["customers"] == CUSTOMERS and scale["events_loaded"] == EVENTS
    assert scale["events_in_db"] >= EVENTS and scale["db_size_mb"] > 0
    assert scale["heavy_customers"] == 1 and scale["heavy_events_min"] > 100
    ingest = section["ingest"]
    assert ingest["events"] == 100 and ingest["events_per_s"] > 0
    _assert_latency(section["view_typical"], 20)
    _assert_latency(section["view_heavy"], 5)
    for page in ("desk_customer", "desk_case"):
        _assert_latency(section[f"{page}_typical"], 5)
        _assert_latency(section[f"{page}_heavy"], 3)
    resolve = section["identity"]["resolve"]
    assert resolve["database"] == vendor
    _assert_latency(resolve["resolve_ms"], resolve["queries"])
    knowledge = section["knowledge"]
    assert knowledge["database"] == vendor and knowledge["articles"] == 200
    _assert_latency(knowledge["fulltext"], 20)
    rss = section["peak_rss_mb"]
    assert rss["server"] > 0 and rss["bench"] > 0 and rss["loader"] > 0
    assert section["load_seconds"] > 0 and section["wall_seconds"] >= section["load_seconds"]


@pytest.mark.skipif(
    _postgres_url() is not None, reason="runs in CI's SQLite pass (the bench makes its own file)"
)
def test_bench_run_sqlite(tmp_path: Path) -> None:
    report = _run([*TINY, "--database", "sqlite", "--db", str(tmp_path / "bench.sqlite3")])
    assert report["databases"] == ["sqlite"]
    assert "postgresql" not in report
    _assert_section(report["sqlite"], "sqlite")
    assert report["wall_seconds"] > 0 and report["machine"]["cpus_usable"] >= 1


@pytest.mark.skipif(_postgres_url() is None, reason="DATABASE_URL is not a PostgreSQL server")
def test_bench_run_postgresql() -> None:
    from bench.pgloader import database_exists, drop_database, with_database

    url = _postgres_url()
    assert url is not None
    names = [
        f"{PG_DB_PREFIX}_{CUSTOMERS}_{EVENTS}",
        f"{PG_DB_PREFIX}_resolve_300",
        f"{PG_DB_PREFIX}_knowledge",
    ]
    try:
        report = _run([*TINY, "--database", "postgresql", "--postgres-url", url])
        assert report["databases"] == ["postgresql"]
        assert "sqlite" not in report
        _assert_section(report["postgresql"], "postgresql")
        assert report["postgresql"]["scale"]["database"].endswith(names[0])
    finally:
        for name in names:
            db = with_database(url, name)
            if database_exists(db):
                drop_database(db)


def test_auto_says_why_postgresql_was_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import run
    from bench.config import parse_args

    monkeypatch.setattr(run, "pg_missing_reason", lambda: "no PostgreSQL server binaries")
    backends, skipped = run.choose_backends(parse_args([]))
    assert backends == ["sqlite"]
    assert "no PostgreSQL server binaries" in skipped["postgresql"]
    monkeypatch.setattr(run, "pg_missing_reason", lambda: None)
    assert run.choose_backends(parse_args([]))[0] == ["sqlite", "postgresql"]
    with pytest.raises(run.FixtureError):
        monkeypatch.setattr(run, "pg_missing_reason", lambda: "missing")
        run.choose_backends(parse_args(["--database", "postgresql"]))


def test_scale_presets() -> None:
    from bench.config import parse_args

    assert (parse_args(["--scale", "1m"]).customers, parse_args(["--scale", "1m"]).events) == (
        1_000_000,
        10_000_000,
    )
    tiny = parse_args(["--scale", "10k", "--events", "5000"])
    assert (tiny.customers, tiny.events, tiny.scale_name) == (10_000, 5000, None)
    assert parse_args(["--scale", "10k"]).scale_name == "10k"
