"""Command-line options and the paths and environment the benchmark runs with."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_DIR / "var"
# The development database: the benchmark must never touch it.
PROTECTED_DB = (VAR_DIR / "loxodon.sqlite3").resolve()
BENCH_USER = "bench-agent-01"
PG_DATA_DIR = VAR_DIR / "bench-pg"  # the bench's own cluster (kept between runs, for reuse)
PG_DB_PREFIX = "loxodon_bench"  # every database the bench creates (and may drop) starts so
BACKENDS = ("sqlite", "postgresql")
# --scale presets: (customers, events). Heavy customers (~10,000 events each) come from
# datagen.Scale: 1 at 10k, 10 at 100k and at 1m.
SCALES: dict[str, tuple[int, int]] = {
    "10k": (10_000, 100_000),
    "100k": (100_000, 1_000_000),
    "1m": (1_000_000, 10_000_000),
}
# The default `make bench` (both backends and every part) must finish in under 10 minutes on
# the project's 2-core machine: 10k here; 100k and 1m are for the scaling table.
DEFAULT_SCALE = "10k"


@dataclass(frozen=True)
class BenchConfig:
    customers: int
    events: int
    db_path: Path
    view_requests: int
    heavy_requests: int
    desk_requests: int
    desk_heavy_requests: int
    batches: int
    batch_size: int
    workers: int
    fresh: bool
    seed: int
    identity_records: int
    resolve_customers: int
    febrl: bool
    knowledge_articles: int = 20_000
    backend: str = "sqlite"  # the backend this config measures: "sqlite" or "postgresql"
    backends: tuple[str, ...] = ("sqlite",)  # what --database asked for, in order
    database_choice: str = "sqlite"  # --database as given ("auto" by default)
    postgres_url: str | None = None  # --postgres-url: an existing server, or None (own cluster)
    pg_database_url: str | None = None  # the bench database on PostgreSQL, once known
    scale_name: str | None = None  # the --scale preset, None if --customers/--events differ
    resolve_queries: int = 1000
    knowledge_queries: int = 500

    @property
    def database_url(self) -> str:
        if self.backend == "postgresql":
            if not self.pg_database_url:
                raise RuntimeError("the PostgreSQL bench database is not set up yet")
            return self.pg_database_url
        return f"sqlite:///{self.db_path}"

    @property
    def pg_database(self) -> str:
        """The fixture's database name on PostgreSQL (one per scale, like the SQLite file)."""
        return f"{PG_DB_PREFIX}_{self.customers}_{self.events}"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Bulk-load a fixture (SQLite and/or PostgreSQL), start `loxodon serve`, "
        "measure over HTTP. Prints one JSON object on stdout; progress goes to stderr.",
    )
    p.add_argument(
        "--scale",
        choices=sorted(SCALES, key=lambda k: SCALES[k]),
        help="preset sizes: 10k (10,000 customers / 100,000 events), 100k (100,000 / 1,000,000), "
        f"1m (1,000,000 / 10,000,000); default {DEFAULT_SCALE}. --customers/--events override it",
    )
    p.add_argument("--customers", type=_positive, help="customers to load (overrides --scale)")
    p.add_argument("--events", type=_positive, help="events to load (overrides --scale)")
    p.add_argument(
        "--database",
        choices=("auto", "sqlite", "postgresql", "both"),
        default="auto",
        help="backends to measure; auto (default): both when PostgreSQL is available "
        "(--postgres-url, or server binaries for a throwaway cluster), else SQLite alone "
        "and the JSON says why PostgreSQL was skipped",
    )
    p.add_argument(
        "--postgres-url",
        help="an existing PostgreSQL server (postgres://user@host:port/dbname). The bench "
        f"creates and uses its own databases there ({PG_DB_PREFIX}_*), unless dbname itself "
        f"starts with {PG_DB_PREFIX}; it never drops a database it did not create. "
        f"Default: its own throwaway cluster in {PG_DATA_DIR.relative_to(PROJECT_DIR)}/",
    )
    p.add_argument("--db", type=Path, help="default: var/bench-<customers>-<events>.sqlite3")
    p.add_argument(
        "--requests", type=_positive, default=200, help="360-view requests for typical customers"
    )
    p.add_argument(
        "--heavy-requests", type=_positive, default=100, help="360-view requests, heavy customers"
    )
    p.add_argument(
        "--desk-requests",
        type=_positive,
        default=100,
        help="desk customer-page and case-page requests each, typical customers",
    )
    p.add_argument(
        "--desk-heavy-requests",
        type=_positive,
        default=25,
        help="desk customer-page and case-page requests each, heavy customers",
    )
    p.add_argument("--batches", type=_positive, default=20, help="ingest batches to post")
    p.add_argument("--batch-size", type=_positive, default=1000, help="events per batch (<=1000)")
    p.add_argument("--workers", type=_positive, default=1, help="uvicorn worker processes")
    p.add_argument("--fresh", action="store_true", help="rebuild the database even if it matches")
    p.add_argument("--seed", type=int, default=1, help="random seed for the generated data")
    p.add_argument(
        "--identity-records",
        type=int,
        default=100_000,
        help="generated customer records to dedupe with the batch linkage (0: skip)",
    )
    p.add_argument(
        "--resolve-customers",
        type=int,
        default=100_000,
        help="customers loaded for the real-time resolve timing (0: skip; 1000000: the 1M figure)",
    )
    p.add_argument("--resolve-queries", type=_positive, default=1000, help="resolve() calls timed")
    p.add_argument("--no-febrl", action="store_true", help="skip the FEBRL4 accuracy run")
    p.add_argument(
        "--knowledge-articles",
        type=int,
        default=20_000,
        help="generated knowledge articles for the search timings (0: skip)",
    )
    p.add_argument(
        "--knowledge-queries", type=_positive, default=500, help="knowledge searches timed"
    )
    return p


def parse_args(argv: list[str] | None = None) -> BenchConfig:
    parser = _parser()
    a = parser.parse_args(argv)
    if a.batch_size > 1000:
        parser.error("--batch-size: the API accepts at most 1000 events per batch")
    preset = a.scale or DEFAULT_SCALE
    customers = a.customers or SCALES[preset][0]
    events = a.events or SCALES[preset][1]
    named = [k for k, v in SCALES.items() if v == (customers, events)]
    if a.postgres_url and not a.postgres_url.startswith(("postgres://", "postgresql://")):
        parser.error("--postgres-url must be a postgres:// or postgresql:// URL")
    if a.database == "sqlite" and a.postgres_url:
        parser.error("--postgres-url with --database sqlite: nothing would use it")
    backends = {"auto": BACKENDS, "both": BACKENDS}.get(a.database, (a.database,))
    db = a.db or VAR_DIR / f"bench-{customers}-{events}.sqlite3"
    db = db.expanduser().resolve()
    if db == PROTECTED_DB:
        parser.error(f"--db {db} is the development database; use another file")
    return BenchConfig(
        customers=customers,
        events=events,
        db_path=db,
        view_requests=a.requests,
        heavy_requests=a.heavy_requests,
        desk_requests=a.desk_requests,
        desk_heavy_requests=a.desk_heavy_requests,
        batches=a.batches,
        batch_size=a.batch_size,
        workers=a.workers,
        fresh=a.fresh,
        seed=a.seed,
        identity_records=a.identity_records,
        resolve_customers=a.resolve_customers,
        febrl=not a.no_febrl,
        knowledge_articles=a.knowledge_articles,
        backend=backends[0],
        backends=tuple(backends),
        database_choice=a.database,
        postgres_url=a.postgres_url,
        scale_name=named[0] if named else None,
        resolve_queries=a.resolve_queries,
        knowledge_queries=a.knowledge_queries,
    )


def loxodon_command() -> list[str]:
    """The `loxodon` console script of this interpreter's environment (.venv/bin/loxodon)."""
    script = Path(sys.executable).parent / "loxodon"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "loxodon.cli"]


def bench_env(config: BenchConfig, **extra: str) -> dict[str, str]:
    """The environment for `loxodon` subprocesses: the bench database, never the default one."""
    env = dict(os.environ)
    env["DATABASE_URL"] = config.database_url
    env["DJANGO_SETTINGS_MODULE"] = "loxodon.settings"
    env.update(extra)
    return env
