"""A PostgreSQL fixture for the scale-out runs: `loxodon migrate`, then COPY of the bench rows.

The rows come from `bench.datagen` (the same seeded generator as `make bench`), so a given
scale and seed give the same customers and events as the SQLite fixture. Django's SQLite
formats load unchanged into PostgreSQL's types: 32-hex UUIDs, naive UTC timestamps (the
session runs in UTC), 0/1 booleans and JSON text. Foreign-key triggers are off during the
COPY (`session_replication_role = replica`): the rows are generated consistent.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

import psycopg

from bench.datagen import DataGenerator, Row, Scale, utc_now
from bench.loader import INSERT

# The same columns, in the same order, as the SQLite fixture loader writes.
COLUMNS = INSERT
META_TABLE = "bench_scaleout_meta"


def log(message: str) -> None:
    print(f"[scaleout] {message}", file=sys.stderr, flush=True)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[Row]) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_text(v) for v in row])
            n += 1
    return n


def migrate(url: str, env: dict[str, str]) -> None:
    log("loxodon migrate")
    subprocess.run(
        [sys.executable, "-m", "loxodon.cli", "migrate", "--noinput", "-v", "0"],
        env={**env, "DATABASE_URL": url},
        check=True,
        stdout=sys.stderr,
    )


def read_meta(url: str) -> dict[str, Any] | None:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass(%s)", [META_TABLE]).fetchone()
        if not found or found[0] is None:
            return None
        row = conn.execute(f"SELECT customers, events, seed, seconds FROM {META_TABLE}").fetchone()
    if row is None:
        return None
    return {"customers": row[0], "events": row[1], "seed": row[2], "load_seconds": row[3]}


def load(url: str, env: dict[str, str], customers: int, events: int, seed: int) -> dict[str, Any]:
    """Migrate and COPY the fixture, unless this database already holds the same one."""
    meta = read_meta(url)
    if meta and (meta["customers"], meta["events"], meta["seed"]) == (customers, events, seed):
        log(f"reusing the loaded fixture ({customers:,} customers, {events:,} events)")
        return {**meta, "reused": True}
    if meta is None:
        with psycopg.connect(url) as conn:
            n = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_type = 'BASE TABLE'"
            ).fetchone()
        if n and n[0]:
            raise SystemExit("the database has tables but no scale-out fixture: use an empty one")
    started = time.perf_counter()
    migrate(url, env)
    scale = Scale(customers, events)
    gen = DataGenerator(scale, seed, utc_now())
    log(f"COPY {customers:,} customers and {events:,} events")
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        conn.execute(f"DROP TABLE IF EXISTS {META_TABLE}")
        for table in COLUMNS:
            conn.execute(f"TRUNCATE {table} CASCADE")
        _copy(conn, "org_site", gen.sites())
        _copy(conn, "org_department", gen.departments())
        _copy(conn, "org_user", gen.staff())
        for chunk_customers, chunk_identities in gen.customer_chunks(50_000):
            _copy(conn, "customers_customer", chunk_customers)
            _copy(conn, "customers_identity", chunk_identities)
        _copy(conn, "cases_case", gen.cases())
        conn.commit()
        done = 0
        for rows in gen.event_chunks(100_000):
            done += _copy(conn, "timeline_event", rows)
            conn.commit()
            if done % 500_000 < 100_000:
                log(f"events: {done:,} of {events:,} ({time.perf_counter() - started:.0f} s)")
        conn.execute(
            f"CREATE TABLE {META_TABLE} (customers bigint, events bigint, seed int, "
            "seconds float, heavy text)"
        )
        seconds = round(time.perf_counter() - started, 1)
        heavy = ",".join(gen.customer_ids[r - 1] for r in scale.heavy_rowids)
        conn.execute(
            f"INSERT INTO {META_TABLE} VALUES (%s, %s, %s, %s, %s)",
            [customers, events, seed, seconds, heavy],
        )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    log(f"loaded in {seconds:.0f} s (+ VACUUM ANALYZE)")
    return {
        "customers": customers,
        "events": events,
        "seed": seed,
        "load_seconds": seconds,
        "reused": False,
    }


def heavy_customers(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT heavy FROM {META_TABLE}").fetchone()
    return str(row[0]).split(",") if row and row[0] else []


def typical_customers(url: str, n: int) -> list[str]:
    """n customers that are not heavy (ids are random, so the first n by id are a sample)."""
    heavy = set(heavy_customers(url))
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id::text FROM customers_customer ORDER BY id LIMIT %s", [n + len(heavy)]
        ).fetchall()
    return [r[0] for r in rows if r[0] not in heavy][:n]
