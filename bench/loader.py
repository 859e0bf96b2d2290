"""Bulk loader for the benchmark fixture.

This is a benchmark fixture, so it deliberately bypasses Loxodon's services and the ORM:
`loxodon migrate` creates the real schema, then rows are written with raw SQL `executemany`
in big transactions (PRAGMA synchronous=OFF, journal_mode=WAL). Column lists match the
migrated tables; the generated values follow what Django itself stores on SQLite.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench.config import BenchConfig, bench_env, loxodon_command
from bench.datagen import DataGenerator, Scale, utc_now
from bench.machine import bench_peak_rss_mb

CUSTOMER_CHUNK = 20_000
EVENT_CHUNK = 50_000
CACHE_KIB = 262_144  # the loader's SQLite page cache (256 MiB)
META_TABLE = "bench_meta"  # the fixture's own bookkeeping; not a Loxodon table

INSERT = {
    "org_site": "id, created_at, updated_at, code, name, time_zone, country",
    "org_department": "id, created_at, updated_at, code, name",
    "org_user": (
        "password, last_login, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined, id, role, department_id, site_id"
    ),
    "customers_customer": (
        "id, created_at, updated_at, name, first_name, last_name, date_of_birth, street, city, "
        "postcode, country, account_id, home_site_id, profile_verified, profile_updated_at, "
        "profile_history, merged_into_id"
    ),
    "customers_identity": (
        "id, created_at, updated_at, kind, value, verified, source, customer_id, site_id"
    ),
    "cases_case": (
        "id, created_at, updated_at, problem, status, priority, resolution_summary, "
        "resolved_at, closed_reason, reopen_count, version, confirmation_event_id, "
        "customer_id, opened_by_id, owner_id, site_id"
    ),
    "timeline_event": (
        "id, occurred_at, recorded_at, channel, kind, internal, summary, body, payload, "
        "source, external_id, content_hash, actor_id, case_id, customer_id, site_id"
    ),
}


class FixtureError(RuntimeError):
    """The database file cannot be used as the benchmark fixture."""


@dataclass(frozen=True)
class LoadInfo:
    reused: bool
    load_seconds: float
    heavy_rowids: list[int]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _insert_sql(table: str) -> str:
    columns = INSERT[table]
    marks = ", ".join("?" for _ in columns.split(","))
    return f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'


def read_meta(db_path: Path) -> dict[str, Any] | None:
    """The fixture's metadata, or None if the file is not a (complete) bench database."""
    if not db_path.exists():
        return None
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'fixture'").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return json.loads(row[0]) if row else None


def _has_tables(db_path: Path) -> bool:
    if not db_path.exists() or db_path.stat().st_size == 0:
        return False
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return bool(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    finally:
        conn.close()


def _is_bench_db(db_path: Path) -> bool:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
        ).fetchone()
    finally:
        conn.close()
    return found is not None


def remove_database(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def _matches(meta: dict[str, Any] | None, config: BenchConfig) -> bool:
    return bool(
        meta
        and meta.get("complete")
        and meta.get("customers") == config.customers
        and meta.get("events") == config.events
        and meta.get("seed") == config.seed
    )


def _prepare_file(config: BenchConfig) -> LoadInfo | None:
    """Reuse a matching fixture (LoadInfo), or clear the way for a new load (None)."""
    db = config.db_path
    meta = read_meta(db)
    if meta is not None and not config.fresh and _matches(meta, config):
        if not migrations_pending(config):
            log(f"reusing {db} (loaded earlier; --fresh rebuilds it)")
            heavy = [int(r) for r in meta["heavy_rowids"]]
            return LoadInfo(True, float(meta["load_seconds"]), heavy)
        log(f"{db} predates the current migrations: rebuilding it")
    if _has_tables(db) and not _is_bench_db(db) and not config.fresh:
        raise FixtureError(
            f"{db} holds a database that the benchmark did not create; "
            "pass --fresh to overwrite it or choose another --db"
        )
    remove_database(db)
    return None


def migrations_pending(config: BenchConfig) -> bool:
    """True if the fixture's schema is behind the code (`migrate --check` exits non-zero)."""
    done = subprocess.run(
        [*loxodon_command(), "migrate", "--check", "-v", "0"],
        env=bench_env(config),
        capture_output=True,
    )
    return done.returncode != 0


def migrate(config: BenchConfig) -> None:
    if config.backend == "sqlite":
        config.db_path.parent.mkdir(parents=True, exist_ok=True)
        log(f"loxodon migrate → {config.db_path}")
    else:
        log(f"loxodon migrate → PostgreSQL database {config.database_url.rsplit('/', 1)[-1]}")
    subprocess.run(
        [*loxodon_command(), "migrate", "--noinput", "-v", "0"],
        env=bench_env(config),
        check=True,
        stdout=sys.stderr,
    )


@contextmanager
def bulk_connection(db_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=OFF")  # rows are generated consistent
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # random-key index inserts stay hot
        conn.execute("PRAGMA temp_store=MEMORY")
        yield conn
    finally:
        conn.close()


def _insert(conn: sqlite3.Connection, table: str, rows: list[tuple[object, ...]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(_insert_sql(table), rows)
    conn.execute("COMMIT")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


def _load_org(conn: sqlite3.Connection, gen: DataGenerator) -> None:
    _insert(conn, "org_site", gen.sites())
    _insert(conn, "org_department", gen.departments())
    _insert(conn, "org_user", gen.staff())


def _load_customers(conn: sqlite3.Connection, gen: DataGenerator, progress: Progress) -> None:
    task = progress.add_task("customers", total=gen.scale.customers)
    for customers, identities in gen.customer_chunks(CUSTOMER_CHUNK):
        conn.execute("BEGIN")
        conn.executemany(_insert_sql("customers_customer"), customers)
        conn.executemany(_insert_sql("customers_identity"), identities)
        conn.execute("COMMIT")
        progress.advance(task, len(customers))


def _load_events(conn: sqlite3.Connection, gen: DataGenerator, progress: Progress) -> None:
    task = progress.add_task("events", total=gen.scale.events)
    plain = not progress.console.is_terminal  # no live bar: log a line now and then
    done, every = 0, max(EVENT_CHUNK, gen.scale.events // 10)
    for rows in gen.event_chunks(EVENT_CHUNK):
        _insert(conn, "timeline_event", rows)
        progress.advance(task, len(rows))
        done += len(rows)
        if plain and done % every < len(rows):
            log(f"events: {done:,} of {gen.scale.events:,}")


def _write_meta(
    conn: sqlite3.Connection, config: BenchConfig, scale: Scale, secs: float | None
) -> None:
    """Marks the file as the benchmark's; `complete` only once every row is in."""
    meta = {
        "complete": secs is not None,
        "customers": config.customers,
        "events": config.events,
        "seed": config.seed,
        "heavy_rowids": scale.heavy_rowids,
        "heavy_events_each": scale.heavy_events_each,
        "load_seconds": None if secs is None else round(secs, 1),
    }
    conn.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute(
        f"INSERT OR REPLACE INTO {META_TABLE} (key, value) VALUES ('fixture', ?)",
        (json.dumps(meta),),
    )


def load(config: BenchConfig) -> LoadInfo:
    """Create (or reuse) the fixture: migrate, then bulk-insert every table."""
    reused = _prepare_file(config)
    if reused is not None:
        return reused
    started = time.perf_counter()
    migrate(config)
    scale = Scale(config.customers, config.events)
    gen = DataGenerator(scale, config.seed, utc_now())
    log(
        f"loading {config.customers:,} customers and {config.events:,} events "
        f"({len(scale.heavy_rowids)} heavy customers with ~{scale.heavy_events_each:,} each)"
    )
    with bulk_connection(config.db_path) as conn, _progress() as progress:
        _write_meta(conn, config, scale, None)
        _load_org(conn, gen)
        _load_customers(conn, gen, progress)
        _insert(conn, "cases_case", gen.cases())
        _load_events(conn, gen, progress)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - started
        _write_meta(conn, config, scale, seconds)
    log(f"loaded in {seconds:.1f} s")
    return LoadInfo(False, seconds, scale.heavy_rowids)


def load_any(config: BenchConfig) -> LoadInfo:
    """The fixture for config.backend: SQLite (executemany) or PostgreSQL (COPY)."""
    if config.backend == "postgresql":
        from bench import pgloader  # imports this module

        return pgloader.load(config)
    return load(config)


def _child(config: BenchConfig, pipe: Connection) -> None:
    try:
        pipe.send(("ok", load_any(config), bench_peak_rss_mb()))
    except BaseException as exc:  # handed to the parent, which re-raises it
        pipe.send(("error", exc, 0.0))
    finally:
        pipe.close()


def load_in_child(config: BenchConfig) -> tuple[LoadInfo, float]:
    """load() in a child process, so that the loader's memory (row chunks, the SQLite page
    cache) is reported apart from the measuring client's. Returns (info, loader peak RSS MB).
    If the parent is interrupted, the child is terminated."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(config, send), name="bench-loader")
    child.start()
    send.close()
    try:
        status, value, rss = receive.recv()
    except EOFError:
        raise RuntimeError(f"the loader process died (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
    if status != "ok":
        raise value
    return value, rss
