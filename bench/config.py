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
    knowledge_articles: int = 50_000

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.db_path}"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Bulk-load a SQLite fixture, start `loxodon serve`, measure over HTTP. "
        "Prints one JSON object on stdout; progress goes to stderr.",
    )
    p.add_argument("--customers", type=_positive, default=100_000)
    p.add_argument("--events", type=_positive, default=1_000_000)
    p.add_argument("--db", type=Path, help="default: var/bench-<customers>-<events>.sqlite3")
    p.add_argument(
        "--requests", type=_positive, default=300, help="360-view requests for typical customers"
    )
    p.add_argument(
        "--heavy-requests", type=_positive, default=100, help="360-view requests, heavy customers"
    )
    p.add_argument(
        "--desk-requests",
        type=_positive,
        default=200,
        help="desk customer-page and case-page requests each, typical customers",
    )
    p.add_argument(
        "--desk-heavy-requests",
        type=_positive,
        default=50,
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
    p.add_argument("--no-febrl", action="store_true", help="skip the FEBRL4 accuracy run")
    p.add_argument(
        "--knowledge-articles",
        type=int,
        default=50_000,
        help="generated knowledge articles for the search timings (0: skip)",
    )
    return p


def parse_args(argv: list[str] | None = None) -> BenchConfig:
    parser = _parser()
    a = parser.parse_args(argv)
    if a.batch_size > 1000:
        parser.error("--batch-size: the API accepts at most 1000 events per batch")
    db = a.db or VAR_DIR / f"bench-{a.customers}-{a.events}.sqlite3"
    db = db.expanduser().resolve()
    if db == PROTECTED_DB:
        parser.error(f"--db {db} is the development database; use another file")
    return BenchConfig(
        customers=a.customers,
        events=a.events,
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
