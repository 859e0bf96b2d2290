"""What a run cost and where it waited: CPU per process group, PostgreSQL wait events, WAL.

- CPU: utime+stime (+ the times of waited-for children) from /proc/<pid>/stat, summed over a
  process tree, so backends that exit during the run are still counted (in the postmaster's
  cutime/cstime). The machine's busy time from /proc/stat shows what everybody else used.
- Waits: pg_stat_activity sampled every `interval` seconds for this database's client backends:
  on CPU (active, no wait event), a named wait (Lock, LWLock, IO, ...), idle in transaction
  (waiting for Python inside a transaction) or idle (waiting for the next request).
- WAL and commits: pg_current_wal_lsn, pg_stat_wal and pg_stat_database deltas.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_times(pid: int) -> float:
    """utime + stime + cutime + cstime of one process, in seconds (0 if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return sum(int(x) for x in fields[11:15]) / TICKS  # utime stime cutime cstime


def descendants(pid: int) -> list[int]:
    """pid and every live descendant."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 5000:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in children.read_text().split())
            except OSError:
                continue
    return found


def tree_cpu_s(root: int) -> float:
    """CPU seconds used by a process tree so far, including its children that have exited."""
    return sum(_stat_times(p) for p in descendants(root))


def parent_pid(pid: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(x) / TICKS for x in first]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return total - idle, total


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def postmaster_pid(url: str) -> int | None:
    """The local server's postmaster (the parent of our backend), or None if not local."""
    with psycopg.connect(url) as conn:  # read while the backend is alive
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        try:
            return parent_pid(int(row[0])) if row else None
        except OSError:
            return None


WAIT_SQL = """
SELECT state, wait_event_type, wait_event, backend_type
FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND application_name <> 'scaleout-observer'
  AND (datname = current_database() OR backend_type <> 'client backend')
"""


@dataclass
class WaitSampler:
    """Samples pg_stat_activity in a thread until stop()."""

    url: str
    interval: float = 0.05
    samples: int = 0
    client: Counter[str] = field(default_factory=Counter)
    background: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> WaitSampler:
        self._thread = threading.Thread(target=self._run, name="wait-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with connect(self.url) as conn:
            while not self._stop.is_set():
                for state, wtype, wevent, btype in conn.execute(WAIT_SQL).fetchall():
                    if btype == "client backend":
                        self.client[_client_state(state, wtype, wevent)] += 1
                    elif wtype and wtype != "Activity":
                        self.background[f"{btype}: {wtype}:{wevent}"] += 1
                self.samples += 1
                time.sleep(self.interval)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        total = sum(self.client.values()) or 1
        return {
            "samples": self.samples,
            "interval_s": self.interval,
            "client_backends_avg": round(sum(self.client.values()) / max(1, self.samples), 2),
            "client_backend_states_pct": {
                k: round(100 * v / total, 1) for k, v in self.client.most_common()
            },
            "background_waits_samples": dict(self.background.most_common(8)),
        }


def _client_state(state: str | None, wtype: str | None, wevent: str | None) -> str:
    if state == "active":
        return f"wait {wtype}:{wevent}" if wtype else "active on CPU"
    if state == "idle in transaction":
        return "idle in transaction (app)"
    return state or "unknown"


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection the wait sampler leaves out of its counts."""
    return psycopg.connect(url, autocommit=True, application_name="scaleout-observer")


def pg_counters(conn: psycopg.Connection[Any]) -> dict[str, float]:
    lsn = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    wal = conn.execute(
        "SELECT wal_records, wal_fpi, wal_bytes, wal_write, wal_sync, wal_write_time, "
        "wal_sync_time FROM pg_stat_wal"
    ).fetchone()
    db = conn.execute(
        "SELECT xact_commit, xact_rollback, blks_read, blks_hit, tup_inserted "
        "FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    if lsn is None or wal is None or db is None:
        raise RuntimeError("pg_stat_wal or pg_stat_database returned no row")
    names = ("wal_records", "wal_fpi", "wal_bytes", "wal_write", "wal_sync", "wal_write_ms",
             "wal_sync_ms", "xact_commit", "xact_rollback", "blks_read", "blks_hit",
             "tup_inserted")  # fmt: skip
    values = {"lsn_bytes": float(lsn[0])}
    values.update({n: float(v) for n, v in zip(names, (*wal, *db), strict=True)})
    return values


def reset_statements(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.execute("SELECT pg_stat_statements_reset()")
    except psycopg.Error:
        conn.rollback()


def top_statements(conn: psycopg.Connection[Any], n: int = 6) -> list[dict[str, Any]]:
    """The statements that took the most server time since the last reset."""
    try:
        rows = conn.execute(
            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90), calls, "
            "round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), rows, "
            "wal_bytes FROM pg_stat_statements WHERE dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT %s",
            [n],
        ).fetchall()
    except psycopg.Error:
        conn.rollback()
        return []
    return [
        {"query": q, "calls": c, "total_ms": float(t), "mean_ms": float(m), "rows": r,
         "wal_bytes": int(w)}
        for q, c, t, m, r, w in rows
    ]  # fmt: skip
