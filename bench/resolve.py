"""Real-time identity resolution at scale: `python -m bench.resolve --customers 1000000`.

Loads the project's synthetic customer generator (`loxodon.customers.resolution.synthetic`) into
its own SQLite file with raw SQL (as the main fixture loader does), or with `--database-url
postgres://…` into a PostgreSQL database with COPY (as bench/pgloader.py does; the database must
be empty or one the bench made, and it is kept for reuse), holding back one record of
some people who have several; then calls `resolve()` — the service every channel adapter and
`GET /customers/resolve` call — in-process for each held-back record and times it. Reported:
latency p50/p95/p99 in ms, how the answers split (match / candidates / new) and how many
matches named the right person. Progress goes to stderr; stdout carries one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.config import VAR_DIR
from bench.loader import bulk_connection, log
from bench.machine import bench_peak_rss_mb, code_version, machine_info
from bench.measure import summarise

CHUNK = 20_000
META = "bench_resolve_meta"
CUSTOMER_COLUMNS = (
    "id, created_at, updated_at, name, first_name, last_name, date_of_birth, street, city, "
    "postcode, country, account_id, home_site_id, profile_verified, profile_updated_at, "
    "profile_history, merged_into_id"
)
IDENTITY_COLUMNS = "id, created_at, updated_at, kind, value, verified, source, customer_id, site_id"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.resolve", description=__doc__)
    p.add_argument("--customers", type=int, default=100_000, help="generated records to load")
    p.add_argument("--queries", type=int, default=1000, help="resolve() calls to time")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--db", type=Path, help="default: var/bench-resolve-<customers>.sqlite3")
    p.add_argument("--fresh", action="store_true", help="rebuild the fixture even if it exists")
    p.add_argument(
        "--database-url",
        help="PostgreSQL instead of SQLite: postgres://user@host:port/loxodon_bench_resolve "
        "(an empty database, or one the bench created)",
    )
    return p


def _database_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _setup_django(where: str | Path) -> None:
    """Django on a DATABASE_URL, or (as before) on a SQLite file given as a Path."""
    os.environ["DATABASE_URL"] = _database_url(where) if isinstance(where, Path) else where
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loxodon.settings")
    # measured as production runs it: without DEBUG, whose query log formats every statement
    # (on SQLite with an extra QUOTE() query per statement)
    os.environ.setdefault("LOXODON_DEBUG", "0")
    os.environ.setdefault("LOXODON_SECRET_KEY", "bench-only-" + secrets.token_hex(16))
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def _split(records: list[dict[str, Any]], truth: dict[Any, Any], queries: int, seed: int):
    """Hold back one record of `queries` people who have at least two records."""
    by_person: dict[Any, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_person[truth[record["record_id"]]].append(i)
    multi = [idx for idx in by_person.values() if len(idx) >= 2]
    rng = random.Random(seed)
    picked = rng.sample(multi, min(queries, len(multi)))
    held = {idx[-1] for idx in picked}
    return held


def _created_at(i: int) -> str:
    """Distinct per record, in load order: PostgreSQL has no rowid to give the load order."""
    return f"2026-01-01 00:00:00.{i % 1_000_000:06d}" if i < 1_000_000 else _later(i)


def _later(i: int) -> str:
    seconds, micro = divmod(i, 1_000_000)
    return f"2026-01-01 00:{seconds // 60:02d}:{seconds % 60:02d}.{micro:06d}"


def _rows(record: dict[str, Any], cid: str, now: str, site_id: str | None):
    first = record.get("first_name") or ""
    last = record.get("last_name") or ""
    name = f"{first} {last}".strip() or "Unknown"
    customer = (
        cid, now, now, name, first, last, record.get("dob") or None,
        record.get("street") or "", record.get("city") or "", record.get("postcode") or "",
        "GB", None, site_id, 0, None, "[]", None,
    )  # fmt: skip
    identities = [
        (uuid.uuid4().hex, now, now, kind, record[kind], 0, "bench", cid, site_id)
        for kind in ("email", "phone", "account_number")
        if record.get(kind)
    ]
    return customer, identities


def _load(db_path: Path, records: list[dict[str, Any]], held: set[int]) -> None:
    """Insert every record not held back, in record order."""
    from rich.progress import Progress

    with bulk_connection(db_path) as conn, Progress(transient=True) as progress:
        task = progress.add_task("customers", total=len(records))
        for base in range(0, len(records), CHUNK):
            customers, identities = [], []
            for i in range(base, min(base + CHUNK, len(records))):
                if i in held:
                    continue
                cid = uuid.uuid4().hex
                customer, idents = _rows(records[i], cid, _created_at(i), None)
                customers.append(customer)
                identities.extend(idents)
            conn.execute("BEGIN")
            conn.executemany(
                f"INSERT INTO customers_customer ({CUSTOMER_COLUMNS}) VALUES "
                f"({', '.join('?' * 17)})",
                customers,
            )
            conn.executemany(
                f"INSERT INTO customers_identity ({IDENTITY_COLUMNS}) VALUES "
                f"({', '.join('?' * 9)})",
                identities,
            )
            conn.execute("COMMIT")
            progress.advance(task, min(CHUNK, len(records) - base))
        conn.execute(f"CREATE TABLE IF NOT EXISTS {META} (k TEXT PRIMARY KEY, v TEXT)")
        conn.execute(f"INSERT OR REPLACE INTO {META} VALUES ('complete', '1')")
        conn.execute("ANALYZE")


def _load_pg(url: str, records: list[dict[str, Any]], held: set[int]) -> None:
    """The same rows as _load, with COPY (secondary indexes built after, as pgloader does)."""
    from rich.progress import Progress

    from bench.pgloader import bulk_connection as pg_bulk
    from bench.pgloader import drop_secondary, recreate_secondary

    tables = ("customers_customer", "customers_identity")
    with pg_bulk(url) as conn, Progress(transient=True) as progress:
        deferred = drop_secondary(conn, tables)
        task = progress.add_task("customers", total=len(records))
        for base in range(0, len(records), CHUNK):
            customers, identities = [], []
            for i in range(base, min(base + CHUNK, len(records))):
                if i in held:
                    continue
                customer, idents = _rows(records[i], uuid.uuid4().hex, _created_at(i), None)
                customers.append(customer)
                identities.extend(idents)
            with conn.cursor() as cur:
                with cur.copy(f"COPY customers_customer ({CUSTOMER_COLUMNS}) FROM STDIN") as cp:
                    for row in customers:
                        cp.write_row(row)
                with cur.copy(f"COPY customers_identity ({IDENTITY_COLUMNS}) FROM STDIN") as cp:
                    for row in identities:
                        cp.write_row(row)
            conn.commit()
            progress.advance(task, min(CHUNK, len(records) - base))
        recreate_secondary(conn, deferred)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {META} (k TEXT PRIMARY KEY, v TEXT)")
        conn.execute(f"INSERT INTO {META} VALUES ('complete', '1') ON CONFLICT DO NOTHING")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")


def _complete_pg(url: str, expected: int) -> bool:
    """A complete resolve fixture with `expected` customers (another size is rebuilt)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute(f"SELECT v FROM {META} WHERE k = 'complete'").fetchone()
            count = conn.execute("SELECT count(*) FROM customers_customer").fetchone()
    except psycopg.Error:
        return False
    return bool(row) and count is not None and int(count[0]) == expected


def _complete(db_path: Path) -> bool:
    if not db_path.exists():
        return False
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute(f"SELECT v FROM {META} WHERE k = 'complete'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return bool(row)


def _query_for(record: dict[str, Any]):
    from datetime import date

    from loxodon.customers.resolution import ResolutionQuery

    fields = set(ResolutionQuery.__dataclass_fields__)
    dob = record.get("dob")
    values: dict[str, Any] = {
        "email": record.get("email") or None,
        "phone": record.get("phone") or None,
        "account_number": record.get("account_number") or None,
        "name": f"{record.get('first_name') or ''} {record.get('last_name') or ''}".strip() or None,
        "first_name": record.get("first_name") or None,
        "last_name": record.get("last_name") or None,
        "street": record.get("street") or None,
        "city": record.get("city") or None,
        "postcode": record.get("postcode") or None,
        "dob": date.fromisoformat(dob) if dob else None,
    }
    return ResolutionQuery(**{k: v for k, v in values.items() if k in fields})


def run(
    customers: int,
    queries: int,
    seed: int,
    db: Path | None,
    fresh: bool,
    database_url: str | None = None,
) -> dict[str, Any]:
    from loxodon.customers.resolution.synthetic import generate

    db_path = db or VAR_DIR / f"bench-resolve-{customers}.sqlite3"
    started = time.perf_counter()
    log(f"generating {customers:,} customer records (seed {seed})")
    records, truth = generate(customers, seed)
    held = _split(records, truth, queries, seed)
    load_s = 0.0
    if database_url:
        from bench.pgloader import fresh_database, redact

        where = redact(database_url)
        reused = not fresh and _complete_pg(database_url, len(records) - len(held))
        if not reused:
            fresh_database(database_url)
        _setup_django(database_url)
    else:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        where = str(db_path)
        reused = _complete(db_path) and not fresh
        if not reused:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        _setup_django(_database_url(db_path))
    if not reused:
        _migrate()
        t0 = time.perf_counter()
        log(f"loading {len(records) - len(held):,} customers into {where}")
        if database_url:
            _load_pg(database_url, records, held)
        else:
            _load(db_path, records, held)
        load_s = time.perf_counter() - t0
    from django.db import connection

    from loxodon.customers.resolution import resolve

    # person → customer ids loaded for that person (to score the answers)
    person_of_customer: dict[str, Any] = {}
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        loaded = cur.fetchone()[0]
    # Customer ids are random per load: rowid order is load order, which maps them to records.
    order_by = "created_at, id" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cur:
        cur.execute(f"SELECT id FROM customers_customer ORDER BY {order_by}")
        order = [uuid.UUID(str(r[0])) for r in cur.fetchall()]
    loaded_records = [r for i, r in enumerate(records) if i not in held]
    for cid, record in zip(order, loaded_records, strict=False):
        person_of_customer[str(cid)] = truth[record["record_id"]]

    held_records = [records[i] for i in sorted(held)]
    for record in held_records[:50]:  # warm-up: caches, the model, SQLite pages
        resolve(_query_for(record))
    latencies: list[float] = []
    outcome = {"match": 0, "candidates": 0, "new": 0}
    right = wrong = candidate_hit = 0
    for record in held_records:
        query = _query_for(record)
        t0 = time.perf_counter()
        answer = resolve(query)
        latencies.append(time.perf_counter() - t0)
        person = truth[record["record_id"]]
        if answer.customer_id is not None:
            outcome["match"] += 1
            if person_of_customer.get(str(answer.customer_id)) == person:
                right += 1
            else:
                wrong += 1
        elif answer.candidates:
            outcome["candidates"] += 1
            if any(person_of_customer.get(str(c.customer_id)) == person for c in answer.candidates):
                candidate_hit += 1
        else:
            outcome["new"] += 1
    return {
        "benchmark": "real-time identity resolution (resolve() in-process)",
        "database": connection.vendor,
        "customers_loaded": loaded,
        "fixture_reused": reused,
        "load_seconds": round(load_s, 1),
        "queries": len(latencies),
        "resolve_ms": summarise(latencies),
        "outcomes": outcome,
        "matches_right_person": right,
        "matches_wrong_person": wrong,
        "candidates_including_right_person": candidate_hit,
        "peak_rss_mb": bench_peak_rss_mb(),
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    report = run(args.customers, args.queries, args.seed, args.db, args.fresh, args.database_url)
    report["machine"] = machine_info()
    report["code"] = code_version()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
