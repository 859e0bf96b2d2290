"""What to shard: the event table copied three ways in the same database, then timed.

- `plain`: like `timeline_event` (same columns and indexes, no foreign keys);
- `hash16`: PARTITION BY HASH (customer_id), 16 partitions (what Citus does across nodes
  when the table is distributed by customer_id);
- `range_month`: PARTITION BY RANGE (occurred_at), one partition per month;
- `plain_min`: like `plain` without the four secondary indexes (primary and idempotency key
  only): the cost of index maintenance on ingest, not a design to adopt;
- `hash16_key`: `hash16` without a unique key on the events; global idempotency instead comes
  from a side table `..._keys (source, external_id) -> (customer_id, event id)`, read and
  written in the same transaction (the design docs/scaling.md proposes for sharding).

PostgreSQL requires every unique index of a partitioned table to contain the partition key,
so the partitioned copies have primary key (customer_id, id) or (occurred_at, id) and
idempotency key (source, external_id, customer_id) or (..., occurred_at): see docs/scaling.md
for what that changes. Every copy holds the same rows (the loaded base, in time order).

Measured, interleaved so that machine noise hits every variant alike:
- the first page of the 360 timeline (`timeline/selectors.py` `_page_query`, as Django sends
  it: client-side parameters, planned on every call) for typical and heavy customers, and
  EXPLAIN (ANALYZE, BUFFERS) of it;
- a time-window report (events per channel over the last 7 days);
- ingest: 1,000-event batches as `ingest_events` writes them (the idempotency read by
  (source, external_id), one multi-row INSERT, COMMIT), one client, WAL bytes per event.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import ClientCursor

from bench.datagen import BODY
from bench.scaleout import observe
from bench.scaleout.pgload import log

COLS = (
    "id, occurred_at, recorded_at, channel, kind, internal, summary, body, payload, source, "
    "external_id, content_hash, actor_id, case_id, customer_id, site_id"
)
VARIANTS = ("plain", "hash16", "range_month", "plain_min", "hash16_key")
SECONDARY = {
    "recent": "(customer_id, occurred_at DESC, id DESC)",
    "channel": "(customer_id, channel, occurred_at DESC, id DESC)",
    "survey": "(customer_id, occurred_at DESC, id DESC) WHERE kind = 'survey'",
    "case": "(case_id, occurred_at DESC, id DESC) WHERE case_id IS NOT NULL",
}

PAGE_SQL = (
    'SELECT e."id", e."customer_id", e."occurred_at", e."recorded_at", e."channel", e."kind", '
    'e."internal", e."site_id", e."actor_id", e."case_id", e."summary", e."body", e."payload", '
    'e."source", e."external_id", e."content_hash", s."id", s."created_at", s."updated_at", '
    's."code", s."name", s."time_zone", s."country", u."password", u."last_login", '
    'u."is_superuser", u."username", u."first_name", u."last_name", u."email", u."is_staff", '
    'u."is_active", u."date_joined", u."id", u."role", u."site_id", u."department_id" '
    'FROM {table} e LEFT OUTER JOIN "org_site" s ON (e."site_id" = s."id") '
    'LEFT OUTER JOIN "org_user" u ON (e."actor_id" = u."id") WHERE e."customer_id" = %s '
    'ORDER BY e."occurred_at" DESC, e."id" DESC LIMIT 51'
)  # the SQL Django generates for _page_query(...)[:51], with the table name swapped
REPORT_SQL = (
    "SELECT channel, count(*) FROM {table} WHERE occurred_at >= now() - interval '7 days' "
    "GROUP BY channel"
)
EXISTING_KEYS_SQL = (
    "SELECT event_id, source, external_id FROM {table}_keys "
    "WHERE source = ANY(%s) AND external_id = ANY(%s)"
)
EXISTING_SQL = (
    "SELECT id, source, external_id FROM {table} WHERE source = ANY(%s) AND external_id = ANY(%s)"
)


def table(variant: str) -> str:
    return f"scaleout_event_{variant}"


def _ddl(variant: str, months: list[datetime]) -> list[str]:
    t = table(variant)
    base = (
        "id uuid NOT NULL, occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, "
        "channel varchar(16) NOT NULL, kind varchar(32) NOT NULL, internal boolean NOT NULL, "
        "summary varchar(300) NOT NULL, body text NOT NULL, payload jsonb NOT NULL, "
        "source varchar(64) NOT NULL, external_id varchar(200) NOT NULL, "
        "content_hash varchar(64) NOT NULL, actor_id uuid, case_id uuid, "
        "customer_id uuid NOT NULL, site_id uuid"
    )
    key = {"hash16": "customer_id, ", "hash16_key": "customer_id, ", "range_month": "occurred_at, "}
    part = key.get(variant, "")
    stmts = [f"DROP TABLE IF EXISTS {t} CASCADE", f"DROP TABLE IF EXISTS {t}_keys"]
    if variant.startswith("hash16"):
        stmts.append(f"CREATE TABLE {t} ({base}) PARTITION BY HASH (customer_id)")
        stmts += [
            f"CREATE TABLE {t}_p{r:02d} PARTITION OF {t} FOR VALUES WITH (MODULUS 16, "
            f"REMAINDER {r})"
            for r in range(16)
        ]
    elif variant == "range_month":
        stmts.append(f"CREATE TABLE {t} ({base}) PARTITION BY RANGE (occurred_at)")
        stmts += [
            f"CREATE TABLE {t}_{lo:%Y%m} PARTITION OF {t} FOR VALUES FROM ('{lo.isoformat()}') "
            f"TO ('{hi.isoformat()}')"
            for lo, hi in itertools.pairwise(months)
        ]
    else:
        stmts.append(f"CREATE TABLE {t} ({base})")
    stmts.append(f"ALTER TABLE {t} ADD PRIMARY KEY ({part}id)")
    if variant == "hash16_key":
        stmts.append(
            f"CREATE TABLE {t}_keys (source varchar(64) NOT NULL, external_id varchar(200) "
            "NOT NULL, customer_id uuid NOT NULL, event_id uuid NOT NULL, "
            "PRIMARY KEY (source, external_id))"
        )
    else:
        stmts.append(
            f"ALTER TABLE {t} ADD UNIQUE (source, external_id{', ' + part[:-2] if part else ''})"
        )
    if variant != "plain_min":
        stmts += [f"CREATE INDEX {t}_{n} ON {t} {cols}" for n, cols in SECONDARY.items()]
    return stmts


def _months(conn: psycopg.Connection[Any]) -> list[datetime]:
    row = conn.execute("SELECT min(occurred_at) FROM timeline_event").fetchone()
    if row is None or row[0] is None:
        raise RuntimeError("timeline_event is empty: load the fixture first")
    first = row[0].astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = datetime.now(UTC) + timedelta(days=62)
    months = [first]
    while months[-1] < end:
        m = months[-1]
        months.append(m.replace(year=m.year + m.month // 12, month=m.month % 12 + 1))
    return months


def build(url: str, variants: tuple[str, ...], keep: bool = False) -> dict[str, Any]:
    """Create and fill the copies from the base rows (indexes in place, time order).
    keep: a copy that already exists is kept as it is (fill_seconds None)."""
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        months = _months(conn)
        for v in variants:
            started = time.perf_counter()
            exists = conn.execute("SELECT to_regclass(%s)", [table(v)]).fetchone()
            built = not (keep and exists and exists[0] is not None)
            if built:
                for stmt in _ddl(v, months):
                    conn.execute(stmt)
                conn.execute(
                    f"INSERT INTO {table(v)} ({COLS}) SELECT {COLS} FROM timeline_event "
                    "WHERE source NOT LIKE 'scaleout-%' ORDER BY occurred_at"
                )
                if v == "hash16_key":
                    conn.execute(
                        f"INSERT INTO {table(v)}_keys SELECT source, external_id, customer_id, "
                        f"id FROM {table(v)}"
                    )
                    conn.execute(f"VACUUM (ANALYZE) {table(v)}_keys")
                conn.execute(f"VACUUM (ANALYZE) {table(v)}")
            size = conn.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relname "
                "~ %s AND c.relkind IN ('r', 'p')",
                [f"^{table(v)}(_p[0-9]+|_[0-9]{{6}}|_keys)?$"],
            ).fetchone()
            rows = conn.execute(f"SELECT count(*) FROM {table(v)}").fetchone()
            out[v] = {
                "rows": rows[0] if rows else 0,
                "total_bytes_mb": round(float(size[0] if size and size[0] else 0) / 2**20),
                "fill_seconds": round(time.perf_counter() - started, 1) if built else None,
                "partitions": 16
                if v.startswith("hash16")
                else len(months) - 1
                if v == "range_month"
                else 0,
            }
            log(f"built {table(v)}: {out[v]}")
    return out


def _ms(xs: list[float]) -> dict[str, float]:
    s = sorted(1000 * x for x in xs)
    q = statistics.quantiles(s, n=100, method="inclusive") if len(s) > 1 else [s[0]] * 99
    return {"p50_ms": round(q[49], 3), "p95_ms": round(q[94], 3), "mean_ms": round(
        statistics.fmean(s), 3), "n": len(s)}  # fmt: skip


def _explain(cur: psycopg.Cursor[Any], sql: str, params: list[Any]) -> dict[str, Any]:
    rows = cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
    lines = [r[0] for r in rows]
    planning = next((ln for ln in lines if ln.startswith("Planning Time")), "")
    execution = next((ln for ln in lines if ln.startswith("Execution Time")), "")
    return {
        "planning_ms": float(planning.split(":")[1].split()[0]) if planning else None,
        "execution_ms": float(execution.split(":")[1].split()[0]) if execution else None,
        "plan": [ln for ln in lines if "Buffers:" not in ln][:14],
        "shared_buffers_hit_read": next((ln.strip() for ln in lines if "Buffers:" in ln), ""),
        "event_seq_scan": any("Seq Scan on scaleout_event" in ln for ln in lines),
        "sort": any(ln.strip().lstrip("->").strip().startswith("Sort  ") for ln in lines),
    }


def measure_queries(
    url: str, variants: tuple[str, ...], typical: list[str], heavy: list[str], repeats: int
) -> dict[str, Any]:
    rng = random.Random(7)
    timings: dict[str, dict[str, list[float]]] = {
        v: {"typical": [], "heavy": [], "report_7d": []} for v in variants
    }
    work = [("typical", c) for c in typical] + [("heavy", c) for c in heavy] * repeats
    rng.shuffle(work)
    with psycopg.connect(url, autocommit=True, cursor_factory=ClientCursor) as conn:
        cur = conn.cursor()
        for v in variants:  # warm the caches alike
            for c in typical[:20] + heavy:
                cur.execute(PAGE_SQL.format(table=table(v)), [c]).fetchall()
        for group, customer in work:
            for v in rng.sample(variants, len(variants)):
                t0 = time.perf_counter()
                cur.execute(PAGE_SQL.format(table=table(v)), [customer]).fetchall()
                timings[v][group].append(time.perf_counter() - t0)
        for _ in range(5):
            for v in rng.sample(variants, len(variants)):
                t0 = time.perf_counter()
                cur.execute(REPORT_SQL.format(table=table(v))).fetchall()
                timings[v]["report_7d"].append(time.perf_counter() - t0)
        out: dict[str, Any] = {}
        for v in variants:
            out[v] = {g: _ms(xs) for g, xs in timings[v].items() if xs}
            out[v]["explain_heavy_first_page"] = _explain(
                cur, PAGE_SQL.format(table=table(v)), [heavy[0]]
            )
            out[v]["explain_typical_first_page"] = _explain(
                cur, PAGE_SQL.format(table=table(v)), [typical[0]]
            )
            out[v]["explain_report_7d"] = _explain(cur, REPORT_SQL.format(table=table(v)), [])
    return out


def _rows(customers: list[str], run: str, b: int, size: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    kinds = (("phone", "call"), ("email", "message"), ("web", "order"), ("system", "shipment"))
    rows = []
    for i in range(size):
        channel, kind = kinds[i % len(kinds)]
        ext = f"{run}-{b:05d}-{i:04d}"
        rows.append(
            (
                uuid.uuid4(), now - timedelta(seconds=(b * size + i) * 127 % 2_592_000), now,
                channel, kind, False, "Ingested event", BODY if kind == "message" else "",
                '{"ref": "X-1", "amount": 1.5}', "scaleout-part", ext, ext.ljust(64, "0"),
                None, None, customers[(b * 7919 + i * 104_729) % len(customers)], None,
            )
        )  # fmt: skip
    return rows


def measure_ingest(
    url: str, variants: tuple[str, ...], customers: list[str], rounds: int, size: int = 1000
) -> dict[str, Any]:
    """Batches as ingest_events writes them, round-robin over the variants, one client."""
    run = uuid.uuid4().hex[:8]
    marks = ", ".join(["(" + ", ".join(["%s"] * 16) + ")"] * size)
    key_marks = ", ".join(["(%s, %s, %s, %s)"] * size)
    times: dict[str, list[float]] = {v: [] for v in variants}
    wal: dict[str, list[int]] = {v: [] for v in variants}
    rng = random.Random(11)
    load0 = observe.loadavg()
    with psycopg.connect(url) as conn:
        for b in range(rounds):
            rows = _rows(customers, run, b, size)
            flat = [x for r in rows for x in r]
            sources = sorted({r[9] for r in rows})
            ext_ids = [r[10] for r in rows]
            keys = [x for r in rows for x in (r[9], r[10], r[14], r[0])]
            for v in rng.sample(variants, len(variants)):
                lsn0 = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
                conn.commit()
                t0 = time.perf_counter()
                keyed = v == "hash16_key"
                existing = EXISTING_KEYS_SQL if keyed else EXISTING_SQL
                conn.execute(existing.format(table=table(v)), [sources, ext_ids]).fetchall()
                conn.execute(f"INSERT INTO {table(v)} ({COLS}) VALUES {marks}", flat)
                if keyed:
                    conn.execute(f"INSERT INTO {table(v)}_keys VALUES {key_marks}", keys)
                conn.commit()
                times[v].append(time.perf_counter() - t0)
                lsn1 = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
                conn.commit()
                if lsn0 is not None and lsn1 is not None:
                    wal[v].append(int(lsn1[0] - lsn0[0]))
    out: dict[str, Any] = {}
    for v in variants:
        ts = times[v][1:]  # the first round warms up
        out[v] = {
            "batch": _ms(ts),
            "events_per_s_at_median": round(size / statistics.median(ts)),
            "wal_bytes_per_event": round(statistics.median(wal[v][1:]) / size),
        }
    out["loadavg"] = [load0, observe.loadavg()]
    return out
