"""How the timeline query's cost grows with the table: `python -m bench.plans`.

For each loaded fixture given (SQLite files, PostgreSQL bench databases), runs the query behind
the 360 view's first timeline page (`timeline.selectors._page_query(...)[:51]`) in-process for
random typical customers and for the heavy ones, and reports its plan (the index it walks, no
scan, no sort) and its cost. On PostgreSQL the cost is EXPLAIN (ANALYZE, BUFFERS): pages touched
per query, which do not depend on how busy the machine is, and the server's execution time.
On SQLite: the plan and the in-process time. One JSON object on stdout.

    python -m bench.plans --fixture sqlite:///var/bench-10000-100000.sqlite3 \
        --fixture postgres://postgres@127.0.0.1:PORT/loxodon_bench_1000000_10000000
    python -m bench.plans --own-cluster --scales 10k,100k,1m   # the bench's own cluster
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from typing import Any

from bench.config import PG_DATA_DIR, PROJECT_DIR, SCALES, VAR_DIR
from bench.machine import code_version, machine_info
from bench.measure import summarise

CHILD_ENV = "BENCH_PLANS_CHILD"


def _measure(url: str, samples: int, seed: int) -> dict[str, Any]:
    """In this process: Django on `url`, then the queries. Returns the fixture's figures."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loxodon.settings")
    os.environ.setdefault("LOXODON_DEBUG", "0")
    os.environ.setdefault("LOXODON_SECRET_KEY", "bench-only-" + secrets.token_hex(16))
    import django

    django.setup()
    from django.db import connection

    from loxodon.timeline.selectors import _page_query

    vendor = connection.vendor
    with connection.cursor() as cur:
        cur.execute("SELECT value FROM bench_meta WHERE key = 'fixture'")
        meta = json.loads(cur.fetchone()[0])
        order = "created_at, id" if vendor == "postgresql" else "rowid"
        cur.execute(f"SELECT id FROM customers_customer ORDER BY {order}")
        ids = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT count(*) FROM timeline_event")
        events = cur.fetchone()[0]
    heavy_rowids = set(meta["heavy_rowids"])
    rng = random.Random(seed)
    typical = [
        ids[r - 1]
        for r in rng.sample(range(1, len(ids) + 1), samples + len(heavy_rowids))
        if r not in heavy_rowids
    ][:samples]
    heavy = [ids[r - 1] for r in sorted(heavy_rowids)]

    def as_uuid(value: Any) -> uuid.UUID:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

    def one(customer: Any) -> dict[str, Any]:
        qs = _page_query(as_uuid(customer), None, None, None, True)[:51]
        t = time.perf_counter()
        rows = len(list(qs))
        elapsed = time.perf_counter() - t
        out: dict[str, Any] = {"rows": rows, "s": elapsed}
        if vendor == "postgresql":
            plan = json.loads(qs.explain(format="json", analyze=True, buffers=True))[0]
            node = plan["Plan"]
            out["pages"] = node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
            out["exec_ms"] = plan["Execution Time"]
            out["plan"] = _nodes(node)
        else:
            out["plan"] = qs.explain()
        return out

    for customer in typical[:20]:  # warm-up: caches
        one(customer)
    results: dict[str, Any] = {
        "database": vendor,
        "customers": len(ids),
        "events": events,
    }
    for label, group in (("typical", typical), ("heavy", heavy * max(1, 50 // len(heavy)))):
        runs = [one(c) for c in group]
        figures: dict[str, Any] = {
            "n": len(runs),
            "rows_per_page_max": max(r["rows"] for r in runs),
            "query_ms": summarise([r["s"] for r in runs]),
            "plans": sorted({str(r["plan"]) for r in runs}),
        }
        if vendor == "postgresql":
            pages = sorted(r["pages"] for r in runs)
            figures["pages_touched"] = {
                "median": pages[len(pages) // 2],
                "max": pages[-1],
            }
            figures["server_exec_ms"] = summarise([r["exec_ms"] / 1000 for r in runs])
        results[label] = figures
    return results


def _nodes(node: dict[str, Any]) -> str:
    """The plan's node types and indexes, outermost first: 'Limit > Index Scan(event_…)'."""
    here = node["Node Type"] + (f"({node['Index Name']})" if "Index Name" in node else "")
    children = node.get("Plans", [])
    return here + ("" if not children else " > " + " + ".join(_nodes(c) for c in children))


def _in_child(url: str, samples: int, seed: int) -> dict[str, Any]:
    """Each fixture in its own process: Django is set up once per process and database."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.plans", "--child", url),
            *("--samples", str(samples), "--seed", str(seed)),
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, CHILD_ENV: "1"},
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.plans", description=__doc__)
    p.add_argument("--fixture", action="append", default=[], help="a fixture's DATABASE_URL")
    p.add_argument("--own-cluster", action="store_true", help="start the bench's own cluster")
    p.add_argument("--scales", default="10k,100k,1m", help="with --own-cluster / sqlite files")
    p.add_argument("--sqlite", action="store_true", help="also var/bench-<scale>.sqlite3 files")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(_measure(a.child, a.samples, a.seed)))
        return 0
    scales = [SCALES[s] for s in a.scales.split(",") if s]
    report: dict[str, Any] = {"machine": machine_info(), "code": code_version(), "fixtures": []}
    urls = list(a.fixture)
    if a.sqlite:
        for c, e in scales:
            path = VAR_DIR / f"bench-{c}-{e}.sqlite3"
            if path.exists():
                urls.append(f"sqlite:///{path}")
    for url in urls:
        report["fixtures"].append(_in_child(url, a.samples, a.seed))
    if a.own_cluster:
        from bench.pgcluster import throwaway_cluster
        from bench.pgloader import database_exists

        with throwaway_cluster(PG_DATA_DIR) as cluster:
            for c, e in scales:
                url = cluster.url(f"loxodon_bench_{c}_{e}")
                if database_exists(url):
                    report["fixtures"].append(_in_child(url, a.samples, a.seed))
    report["machine"]["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
