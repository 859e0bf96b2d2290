"""`loxodon link_customers` at scale: `python -m bench.link_scale --customers 1000000`.

Loads the project's synthetic customer generator into a fresh SQLite file with raw SQL (the
helpers of `bench.resolve`; a pristine copy is kept beside it so a rerun skips the load), then
runs `run_linkage()` — what `loxodon link_customers` runs — in-process over every customer:
reading them from the database, Splink on DuckDB (training a model with EM: the fresh file has
none), clustering, merging the sure clusters (`merge_clusters`) and queueing the unsure pairs
for review. stdout carries one JSON object: seconds per stage, merges, reviews, whether the
merges joined records of one person (the generator's truth), peak RSS. Progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.config import VAR_DIR
from bench.loader import log
from bench.machine import bench_peak_rss_mb, code_version, machine_info
from bench.resolve import _complete, _load, _migrate, _setup_django


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.link_scale", description=__doc__)
    p.add_argument("--customers", type=int, default=100_000, help="generated records to load")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--db", type=Path, help="default: var/bench-link-<customers>.sqlite3")
    p.add_argument("--fresh", action="store_true", help="rebuild the pristine copy too")
    return p


def _files(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]


TRUTH = "bench_link_truth"


def _build(db_path: Path, customers: int, seed: int) -> None:
    """Load generated customers, and which person each is (for scoring the merges)."""
    from loxodon.customers.resolution.synthetic import generate

    log(f"generating {customers:,} customer records (seed {seed})")
    records, truth = generate(customers, seed)
    _migrate()
    log(f"loading {len(records):,} customers into {db_path}")
    _load(db_path, records, set())
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        # Customer ids are random per load: rowid order is load order, i.e. record order.
        order = [r[0] for r in conn.execute("SELECT id FROM customers_customer ORDER BY rowid")]
        conn.execute(f"CREATE TABLE {TRUTH} (customer_id TEXT PRIMARY KEY, person INTEGER)")
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO {TRUTH} VALUES (?, ?)",
            ((cid, truth[r["record_id"]]) for cid, r in zip(order, records, strict=True)),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def run(customers: int, seed: int, db: Path | None, fresh: bool) -> dict[str, Any]:
    db_path = db or VAR_DIR / f"bench-link-{customers}-{seed}.sqlite3"
    pristine = db_path.with_suffix(".pristine.sqlite3")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for f in _files(db_path):
        f.unlink(missing_ok=True)
    reused = _complete(pristine) and not fresh
    load_s = 0.0
    if reused:
        log(f"copying the loaded customers from {pristine}")
        shutil.copyfile(pristine, db_path)
    _setup_django(db_path)
    from django.db import connection

    if not reused:
        for f in _files(pristine):
            f.unlink(missing_ok=True)
        t0 = time.perf_counter()
        _build(db_path, customers, seed)
        load_s = time.perf_counter() - t0
        connection.close()  # the last connection closed: the WAL is checkpointed into the file
        shutil.copyfile(db_path, pristine)

    from loxodon.customers.models import LinkageRun
    from loxodon.customers.resolution.linkage import peak_rss_mb, run_linkage

    with connection.cursor() as cur:
        cur.execute(f"SELECT customer_id, person FROM {TRUTH}")
        person = {uuid.UUID(str(cid)): p for cid, p in cur.fetchall()}

    log("link_customers (run_linkage) over every customer")
    t0 = time.perf_counter()
    outcome = run_linkage(progress=log)
    linkage_s = time.perf_counter() - t0
    run = LinkageRun.objects.get(pk=outcome.run.pk)
    right = sum(1 for m in outcome.merges if person[m.absorbed_id] == person[m.survivor_id])
    return {
        "benchmark": "link_customers: run_linkage() in-process over generated customers, SQLite",
        "customers_loaded": len(person),
        "fixture_reused": reused,
        "load_seconds": round(load_s, 1),
        "linkage_seconds_total": round(linkage_s, 1),
        "seconds": run.figures.get("seconds", {}),
        "merge_seconds": run.figures.get("merge_seconds", {}),
        "trained": run.figures.get("trained"),
        "pairs_scored": run.pairs_scored,
        "auto_merged": run.auto_merged,
        "merges_joining_one_person": right,
        "merges_joining_two_people": len(outcome.merges) - right,
        "merges_skipped": len(outcome.skipped_merges),
        "clusters_held_back": outcome.blocked_clusters,
        "queued_for_review": run.queued_for_review,
        "peak_rss_mb_at_end_of_linkage": run.figures.get("peak_rss_mb", peak_rss_mb()),
        "peak_rss_mb": bench_peak_rss_mb(),
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    report = run(args.customers, args.seed, args.db, args.fresh)
    report["machine"] = machine_info()
    report["code"] = code_version()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
