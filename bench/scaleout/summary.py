"""Markdown tables from the JSON of `python -m bench.scaleout`:
`python -m bench.scaleout.summary FILE.json [FILE.json ...]`."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from typing import Any


def ingest_table(steps: list[dict[str, Any]]) -> list[str]:
    by: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for s in steps:
        by[(s["variant"], s["processes"])].append(s)
    out = [
        "| variant | P | events/s (each round) | batch p50 / p95 ms | cores: app / PG / all "
        "| app / PG CPU ms per 1,000 events | WAL B/event | PG client backends: CPU / waits "
        "/ idle in tx / idle | loadavg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (variant, procs), runs in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        app_key = "ingest_worker_processes" if variant == "service" else "server_processes"
        app_ms = "worker_cpu_ms" if variant == "service" else "server_cpu_ms"
        rates = " / ".join(f"{r['events_per_s']:,.0f}" for r in runs)
        p50 = statistics.median(r["batch_p50_ms"] for r in runs)
        p95 = statistics.median(r["batch_p95_ms"] for r in runs)
        app = statistics.median(r["cpu_cores_used"][app_key] for r in runs)
        pg = statistics.median(r["cpu_cores_used"]["postgres_processes"] for r in runs)
        busy = statistics.median(r["cpu_cores_used"]["whole_machine_busy"] for r in runs)
        app_cost = statistics.median(r["cpu_per_1000_events"][app_ms] for r in runs)
        pg_cost = statistics.median(r["cpu_per_1000_events"]["postgres_cpu_ms"] for r in runs)
        wal = statistics.median(r["wal_bytes_per_event"] for r in runs)
        states = _states(runs)
        load = ", ".join(f"{r['loadavg_before'][0]:.1f}" for r in runs)
        out.append(
            f"| {variant} | {procs} | {rates} | {p50:,.0f} / {p95:,.0f} | {app:.2f} / {pg:.2f} "
            f"/ {busy:.2f} | {app_cost:.0f} / {pg_cost:.0f} | {wal:.0f} | {states} | {load} |"
        )
    return out


def _states(runs: list[dict[str, Any]]) -> str:
    total: dict[str, float] = defaultdict(float)
    for r in runs:
        for k, v in r["waits"]["client_backend_states_pct"].items():
            total[k] += v / len(runs)
    waits = sum(v for k, v in total.items() if k.startswith("wait "))
    return (
        f"{total.get('active on CPU', 0):.0f}% / {waits:.0f}% / "
        f"{total.get('idle in transaction (app)', 0):.0f}% / {total.get('idle', 0):.0f}%"
    )


def wait_table(steps: list[dict[str, Any]]) -> list[str]:
    total: dict[str, float] = defaultdict(float)
    for s in steps:
        for k, v in s["waits"]["client_backend_states_pct"].items():
            if k.startswith("wait "):
                total[k] += v / len(steps)
    return [f"- {k[5:]}: {v:.2f}% of backend samples" for k, v in sorted(total.items(),
            key=lambda kv: -kv[1])]  # fmt: skip


def partition_tables(p: dict[str, Any]) -> list[str]:
    out = [
        "| table | partitions | size MB | timeline page p50 / p95 ms, typical | heavy "
        "| planning ms (typical / heavy, EXPLAIN) | 7-day report p50 ms | ingest events/s "
        "(batch p50 ms) | WAL B/event |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v, t in p["tables"].items():
        q, i = p["queries"][v], p["ingest"][v]
        out.append(
            f"| {v} | {t['partitions']} | {t['total_bytes_mb']} | {q['typical']['p50_ms']:.1f} / "
            f"{q['typical']['p95_ms']:.1f} | {q['heavy']['p50_ms']:.1f} / "
            f"{q['heavy']['p95_ms']:.1f} | {q['explain_typical_first_page']['planning_ms']} / "
            f"{q['explain_heavy_first_page']['planning_ms']} | {q['report_7d']['p50_ms']:.0f} | "
            f"{i['events_per_s_at_median']:,} ({i['batch']['p50_ms']:.0f}) | "
            f"{i['wal_bytes_per_event']} |"
        )
    return out


def main(paths: list[str]) -> None:
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        print(f"## {path} (commit {report.get('code')}, loadavg {report.get('loadavg_start')})")
        if "partitioning" in report:
            print("\n".join(partition_tables(report["partitioning"])))
        if "ingest" in report:
            print("\n".join(ingest_table(report["ingest"])))
            print("\n".join(wait_table(report["ingest"])))


if __name__ == "__main__":
    main(sys.argv[1:])
