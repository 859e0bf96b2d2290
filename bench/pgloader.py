"""PostgreSQL fixture: the bench's own databases, and the bulk loader (COPY).

The same generated rows as the SQLite loader (bench/datagen.py, same seed → same data), written
with psycopg 3 `cursor.copy()` into the schema `loxodon migrate` created. PostgreSQL parses the
SQLite-style values itself: 32-hex UUIDs, naive UTC datetimes (the session runs in UTC), 0/1
booleans and JSON text.

Around the COPY the loader drops the loaded tables' plain secondary indexes (those that back no
constraint) and their foreign keys, and recreates both afterwards from the definitions it read
from the catalog (`pg_get_indexdef`, `pg_get_constraintdef`) before dropping them: one sorted
index build and one validating join per constraint instead of a B-tree insert and a trigger per
row. Primary keys and unique constraints stay in place throughout. If the load stops half way,
the fixture's meta row still says "incomplete", and the next run drops and rebuilds the
database, so a missing index can never be measured. Then VACUUM (ANALYZE): statistics and the
visibility map as autovacuum would leave them.

Databases: the bench only ever creates databases named `loxodon_bench_*`, marks them with the
comment 'loxodon-bench', and drops only a database that carries that mark.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.config import PG_DB_PREFIX, BenchConfig
from bench.datagen import DataGenerator, Row, Scale, utc_now
from bench.loader import (
    CUSTOMER_CHUNK,
    EVENT_CHUNK,
    INSERT,
    META_TABLE,
    FixtureError,
    LoadInfo,
    _matches,
    _progress,
    log,
    migrate,
    migrations_pending,
)

OWNER_MARK = "loxodon-bench"
LOADED_TABLES = (
    "org_site",
    "org_department",
    "org_user",
    "customers_customer",
    "customers_identity",
    "cases_case",
    "timeline_event",
)


# --- URLs and databases ---------------------------------------------------------------------
def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def redact(url: str) -> str:
    """The URL without its password, for logs and the report."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def bench_database_url(server_url: str, name: str) -> str:
    """Where a bench database lives: the URL's own database if it is already a bench one
    (named loxodon_bench_*), otherwise `name` on the same server."""
    if database_name(server_url).startswith(PG_DB_PREFIX):
        return server_url
    return with_database(server_url, name)


def _maintenance_url(db_url: str) -> str:
    return with_database(db_url, "postgres")


def _connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(url, connect_timeout=10, **kwargs)


def database_exists(db_url: str) -> bool:
    with _connect(_maintenance_url(db_url), autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database_name(db_url),)
        ).fetchone()
    return found is not None


def owned_by_bench(db_url: str) -> bool:
    """True if the bench created this database (it carries the bench's comment)."""
    with _connect(_maintenance_url(db_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (database_name(db_url),),
        ).fetchone()
    return bool(row and row[0] == OWNER_MARK)


def create_database(db_url: str) -> None:
    name = database_name(db_url)
    if not name.startswith(PG_DB_PREFIX):
        raise FixtureError(f"refusing to create {name!r}: bench databases are {PG_DB_PREFIX}_*")
    with _connect(_maintenance_url(db_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name)
            )
        )
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(OWNER_MARK)
            )
        )
    log(f"created database {name}")


def drop_database(db_url: str) -> None:
    """Drop a database the bench created; anything else is refused."""
    name = database_name(db_url)
    if not (name.startswith(PG_DB_PREFIX) and owned_by_bench(db_url)):
        raise FixtureError(f"refusing to drop {name!r}: the bench did not create it")
    with _connect(_maintenance_url(db_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    log(f"dropped database {name}")


def table_count(db_url: str) -> int:
    with _connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
    return int(row[0]) if row else 0


def fresh_database(db_url: str) -> None:
    """An empty bench database at db_url: create it, or drop and recreate one the bench made.
    An existing empty database is used as it is; any other database is refused."""
    if not database_exists(db_url):
        create_database(db_url)
    elif owned_by_bench(db_url):
        drop_database(db_url)
        create_database(db_url)
    elif table_count(db_url):
        raise FixtureError(
            f"{redact(db_url)} holds tables and the bench did not create it; "
            "give --postgres-url a server (the bench makes its own database) or an empty database"
        )


def ensure_database(db_url: str) -> None:
    """The database exists (created by the bench if it was missing); its content is kept."""
    if not database_exists(db_url):
        create_database(db_url)


def read_meta(db_url: str) -> dict[str, Any] | None:
    """The fixture's metadata, or None if this is no (complete) bench database."""
    try:
        with _connect(db_url) as conn:
            row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'fixture'").fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return None
    return json.loads(row[0]) if row else None


def database_size_mb(db_url: str) -> float:
    with _connect(db_url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(int(row[0]) / 1e6, 1) if row else 0.0


def server_version(db_url: str) -> str:
    with _connect(db_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


# --- the loader -----------------------------------------------------------------------------
@contextmanager
def bulk_connection(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with _connect(db_url) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # the generated datetimes are naive UTC
        conn.execute("SET synchronous_commit = off")  # this session only: a fixture load
        conn.execute("SET maintenance_work_mem = '1GB'")  # the index builds after the COPY
        conn.commit()
        yield conn


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[Row]) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({INSERT[table]}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


@dataclass(frozen=True)
class Deferred:
    """Secondary indexes and foreign keys dropped for the load, to recreate afterwards."""

    indexes: list[tuple[str, str]]  # (name, CREATE INDEX …)
    foreign_keys: list[tuple[str, str, str]]  # (table, name, FOREIGN KEY … definition)


def drop_secondary(conn: psycopg.Connection[Any], tables: Iterable[str]) -> Deferred:
    names = list(tables)
    indexes = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        (names,),
    ).fetchall()
    fks = conn.execute(
        """
        SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE c.contype = 'f' AND t.relname = ANY(%s)
          AND t.relnamespace = current_schema()::regnamespace
        ORDER BY t.relname, c.conname
        """,
        (names,),
    ).fetchall()
    for table, name, _ in fks:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    conn.commit()
    log(f"dropped {len(indexes)} secondary indexes and {len(fks)} foreign keys for the load")
    return Deferred([(n, d) for n, d in indexes], [(t, n, d) for t, n, d in fks])


def recreate_secondary(conn: psycopg.Connection[Any], deferred: Deferred) -> None:
    for name, definition in deferred.indexes:
        started = time.perf_counter()
        conn.execute(definition)  # a catalog-made statement
        conn.commit()
        log(f"index {name}: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for table, name, definition in deferred.foreign_keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                sql.Identifier(table), sql.Identifier(name)
            )
            + sql.SQL(definition)  # from pg_get_constraintdef
        )
    conn.commit()
    seconds = time.perf_counter() - started
    log(f"{len(deferred.foreign_keys)} foreign keys validated: {seconds:.1f} s")


def _write_meta(
    conn: psycopg.Connection[Any], config: BenchConfig, scale: Scale, secs: float | None
) -> None:
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
        f"INSERT INTO {META_TABLE} (key, value) VALUES ('fixture', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (json.dumps(meta),),
    )
    conn.commit()


def _prepare(config: BenchConfig) -> LoadInfo | None:
    url = config.database_url
    meta = read_meta(url)
    if meta is not None and not config.fresh and _matches(meta, config):
        if not migrations_pending(config):
            log(f"reusing {redact(url)} (loaded earlier; --fresh rebuilds it)")
            heavy = [int(r) for r in meta["heavy_rowids"]]
            return LoadInfo(True, float(meta["load_seconds"]), heavy)
        log(f"{redact(url)} predates the current migrations: rebuilding it")
    fresh_database(url)
    return None


def load(config: BenchConfig) -> LoadInfo:
    """Create (or reuse) the PostgreSQL fixture: migrate, then COPY every table."""
    reused = _prepare(config)
    if reused is not None:
        return reused
    started = time.perf_counter()
    migrate(config)
    scale = Scale(config.customers, config.events)
    gen = DataGenerator(scale, config.seed, utc_now())
    log(
        f"loading {config.customers:,} customers and {config.events:,} events with COPY "
        f"({len(scale.heavy_rowids)} heavy customers with ~{scale.heavy_events_each:,} each)"
    )
    with bulk_connection(config.database_url) as conn:
        _write_meta(conn, config, scale, None)
        deferred = drop_secondary(conn, LOADED_TABLES)
        with _progress() as progress:
            _copy(conn, "org_site", gen.sites())
            _copy(conn, "org_department", gen.departments())
            _copy(conn, "org_user", gen.staff())
            conn.commit()
            task = progress.add_task("customers", total=config.customers)
            for customers, identities in gen.customer_chunks(CUSTOMER_CHUNK):
                _copy(conn, "customers_customer", customers)
                _copy(conn, "customers_identity", identities)
                conn.commit()
                progress.advance(task, len(customers))
            _copy(conn, "cases_case", gen.cases())
            conn.commit()
            task = progress.add_task("events", total=config.events)
            plain = not progress.console.is_terminal
            done, every = 0, max(EVENT_CHUNK, config.events // 10)
            for rows in gen.event_chunks(EVENT_CHUNK):
                _copy(conn, "timeline_event", rows)
                conn.commit()
                progress.advance(task, len(rows))
                done += len(rows)
                if plain and done % every < len(rows):
                    log(f"events: {done:,} of {config.events:,}")
        copied = time.perf_counter() - started
        log(f"rows copied in {copied:.1f} s; building indexes and foreign keys")
        recreate_secondary(conn, deferred)
        conn.autocommit = True
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        log(f"VACUUM (ANALYZE): {time.perf_counter() - t:.1f} s")
        conn.autocommit = False
        seconds = time.perf_counter() - started
        _write_meta(conn, config, scale, seconds)
    log(f"loaded in {seconds:.1f} s")
    return LoadInfo(False, seconds, scale.heavy_rowids)
