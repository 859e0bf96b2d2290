"""`python -m bench.load`: many simulated desk agents against the production process layout.

Prepares (or reuses) a database, starts `loxodon serve --workers N` (uvicorn, LOXODON_DEBUG=0)
and the task worker `loxodon db_worker`, and runs locust headless from its own venv
(var/load/venv, pinned in bench/load/requirements.txt) against loopback only, bounded in time
(--duration) and in requests (--max-requests). Prints one JSON object on stdout; progress goes
to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, cast

from bench.config import PROJECT_DIR, VAR_DIR, BenchConfig, loxodon_command
from bench.load.cluster import LoadCluster, running_cluster
from bench.load.prepare import (
    HEAVY_EXTRA_EVENTS,
    Fixture,
    prepare,
    prepared,
    read_sample,
    set_agent_password,
)
from bench.loader import log
from bench.machine import code_version, machine_info
from bench.measure import summarise
from bench.server import HOST, Server, process_tree, vm_hwm_mb

LOAD_DIR = PROJECT_DIR / "bench" / "load"
REQUIREMENTS = LOAD_DIR / "requirements.txt"
LOCUSTFILE = LOAD_DIR / "locustfile.py"
DEFAULT_WORK_DIR = VAR_DIR / "load"
SIGN_IN_PAGES = ("sign in: form", "sign in: post")
WORKER_STOP_TIMEOUT_S = 15.0
VENV_UNAVAILABLE = 3  # exit code: locust's venv cannot be installed (the smoke test skips)


@dataclass(frozen=True)
class LoadConfig:
    users: int
    duration: int
    spawn_rate: float
    workers: int
    database: str
    max_requests: int
    think_min: float
    think_max: float
    heavy_share: float
    sign_in_limit: int
    conn_max_age: int | None
    db_pool_max: int
    weights: str
    stop_timeout: int
    host: str
    fixture: Fixture
    work_dir: Path
    venv: Path
    fresh: bool


@dataclass(frozen=True)
class ServerTarget:
    """What bench.server.Server reads from its config: the database and the worker count."""

    database_url: str
    workers: int


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _loopback(text: str) -> str:
    try:
        ok = text == "localhost" or ipaddress.ip_address(text).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"{text!r} is not a loopback address; refusing")
    return text


def parse_args(argv: list[str] | None = None) -> LoadConfig:
    p = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="Simulated desk agents (locust) against `loxodon serve` + `loxodon "
        "db_worker` on loopback. Prints one JSON object on stdout.",
    )
    p.add_argument("--users", type=_positive, default=200, help="simulated agents (accounts)")
    p.add_argument(
        "--duration",
        type=_positive,
        default=120,
        help="seconds of load once every agent has signed in (the sign-ins come first)",
    )
    p.add_argument(
        "--spawn-rate",
        type=float,
        default=2.0,
        help="agents started (signing in) per second; a sign-in hashes the password, ~0.33 s "
        "of CPU with Django's PBKDF2",
    )
    p.add_argument(
        "--sign-in-limit",
        type=_positive,
        help="seconds allowed for every agent to start and sign in before the load ends anyway "
        "(default: users / spawn rate + 180)",
    )
    p.add_argument(
        "--workers", type=_positive, help="uvicorn workers (default: 1 on SQLite, 2 on PostgreSQL)"
    )
    p.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument(
        "--max-requests",
        type=_positive,
        default=100_000,
        help="stop the run after this many requests, even before --duration",
    )
    p.add_argument("--think-min", type=float, default=1.0, help="think time, seconds (min)")
    p.add_argument("--think-max", type=float, default=5.0, help="think time, seconds (max)")
    p.add_argument(
        "--heavy-share", type=float, default=0.1, help="share of customer pages for heavy ones"
    )
    p.add_argument(
        "--weights",
        default="",
        help="how often an agent does each action, e.g. queues=3,search=3,customer=4,case=3,"
        "note=1 (the default)",
    )
    p.add_argument(
        "--conn-max-age",
        type=int,
        help="LOXODON_CONN_MAX_AGE for the server and the worker (default: the settings' 0)",
    )
    p.add_argument(
        "--db-pool-max",
        type=int,
        default=8,
        help="LOXODON_DB_POOL_MAX on PostgreSQL: psycopg pool size per process, as docs/deploy.md "
        "has it (default 8; 0 turns the pool off)",
    )
    p.add_argument("--stop-timeout", type=int, default=10, help="seconds to let tasks finish")
    p.add_argument("--host", type=_loopback, default=HOST, help="loopback only")
    p.add_argument("--customers", type=_positive, default=10_000, help="demo customers")
    p.add_argument("--events", type=_positive, default=100_000, help="demo timeline events")
    p.add_argument(
        "--heavy-events",
        type=int,
        default=HEAVY_EXTRA_EVENTS,
        help="events added to each of the two heavy customers",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="databases, runs")
    p.add_argument("--venv", type=Path, default=DEFAULT_WORK_DIR / "venv", help="locust's venv")
    p.add_argument("--fresh", action="store_true", help="rebuild the database")
    a = p.parse_args(argv)
    if a.think_max < a.think_min or a.think_min < 0:
        p.error("--think-min must be >= 0 and <= --think-max")
    if a.host == "localhost":
        a.host = HOST
    return LoadConfig(
        users=a.users,
        duration=a.duration,
        spawn_rate=a.spawn_rate,
        workers=a.workers or (1 if a.database == "sqlite" else 2),
        database=a.database,
        max_requests=a.max_requests,
        think_min=a.think_min,
        think_max=a.think_max,
        heavy_share=a.heavy_share,
        sign_in_limit=a.sign_in_limit or int(a.users / a.spawn_rate) + 180,
        conn_max_age=a.conn_max_age,
        db_pool_max=a.db_pool_max,
        weights=a.weights,
        stop_timeout=a.stop_timeout,
        host=a.host,
        fixture=Fixture(
            database=a.database,
            customers=a.customers,
            events=a.events,
            seed=a.seed,
            agents=a.users,
            heavy_extra_events=a.heavy_events,
        ),
        work_dir=a.work_dir.expanduser().resolve(),
        venv=a.venv.expanduser().resolve(),
        fresh=a.fresh,
    )


# --- locust, in a venv of its own ---


def ensure_locust_venv(venv: Path) -> Path:
    """Create (or reuse) the locust venv pinned by requirements.txt; returns its locust."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / ".requirements-sha256"
    locust = venv / "bin" / "locust"
    if locust.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return locust
    log(f"locust venv: creating {venv} from {REQUIREMENTS.name}")
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdout=sys.stderr)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
        stdout=sys.stderr,
    )
    stamp.write_text(wanted)
    return locust


# --- the database ---


def _base_name(config: LoadConfig) -> str:
    f = config.fixture
    return f"{f.database}-{f.customers}-{f.events}-s{f.seed}-a{f.agents}-h{f.heavy_extra_events}"


@contextmanager
def database(config: LoadConfig) -> Iterator[tuple[str, Path, LoadCluster | None]]:
    """(DATABASE_URL, sample file, cluster) of a prepared database; the PostgreSQL cluster
    stops at exit."""
    config.work_dir.mkdir(parents=True, exist_ok=True)
    base = config.work_dir / _base_name(config)
    marker, sample = base.with_suffix(".prepared.json"), base.with_suffix(".sample.json")
    if config.database == "sqlite":
        db = base.with_suffix(".sqlite3")
        url = f"sqlite:///{db}"
        if config.fresh or not prepared(marker, sample, config.fixture, url):
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), marker):
                path.unlink(missing_ok=True)
            prepare(url, config.fixture, marker, sample)
        yield url, sample, None
        return
    with running_cluster(base.with_suffix(".pgdata")) as cluster:
        if config.fresh or not prepared(marker, sample, config.fixture, cluster.url):
            marker.unlink(missing_ok=True)
            cluster.recreate_database()
            prepare(cluster.url, config.fixture, marker, sample)
        yield cluster.url, sample, cluster


# --- the production processes ---


class TaskWorker:
    """`loxodon db_worker`, as in the production layout; stop() is idempotent."""

    def __init__(self, env: dict[str, str]) -> None:
        cmd = [*loxodon_command(), "db_worker", "--no-reload", "--interval", "2", "-v", "0"]
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            cmd, env=env, stdout=sys.stderr, stderr=sys.stderr, start_new_session=True
        )

    def peak_rss_mb(self) -> float:
        if self.proc is None:
            return 0.0
        return max((vm_hwm_mb(pid) for pid in process_tree(self.proc.pid)), default=0.0)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=WORKER_STOP_TIMEOUT_S)


class ConnectionWatch:
    """The most sessions the load database had open, polled every 2 s during the load."""

    def __init__(self, cluster: LoadCluster | None) -> None:
        self.cluster = cluster
        self.most = 0
        self.refused = 0  # polls the server refused (no connection slot left)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while self.cluster is not None and not self.done.wait(2.0):
            try:
                self.most = max(self.most, self.cluster.connections())
            except Exception:  # e.g. "too many clients": itself a finding
                self.refused += 1

    def __enter__(self) -> ConnectionWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=10)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes so far (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


# --- the run ---


def run_locust(
    config: LoadConfig, locust: Path, base_url: str, sample: Path, password: str, out_dir: Path
) -> dict[str, Any]:
    result = out_dir / "agents.json"
    env = dict(os.environ)
    env.update(
        LOAD_SAMPLE=str(sample),
        LOAD_PASSWORD=password,
        LOAD_MAX_REQUESTS=str(config.max_requests),
        LOAD_THINK_MIN=str(config.think_min),
        LOAD_THINK_MAX=str(config.think_max),
        LOAD_HEAVY_SHARE=str(config.heavy_share),
        LOAD_WEIGHTS=config.weights,
        LOAD_USERS=str(config.users),
        LOAD_STEADY_SECONDS=str(config.duration),
        LOAD_RESULT=str(result),
    )
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"):
        env.pop(name, None)  # the locust process knows nothing of Loxodon
    cmd = [
        str(locust),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(config.users),
        "--spawn-rate",
        str(config.spawn_rate),
        "--run-time",  # the ceiling; the locustfile stops `duration` s after the sign-ins
        f"{config.duration + config.sign_in_limit}s",
        "--stop-timeout",
        str(config.stop_timeout),
        "--host",
        base_url,
        "--csv",
        str(out_dir / "locust"),
        "--json-file",
        str(out_dir / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    log(
        f"locust: {config.users} agents, spawn {config.spawn_rate}/s, {config.duration} s "
        f"after the sign-ins (at most {config.sign_in_limit} s for them), "
        f"at most {config.max_requests} requests, against {base_url}"
    )
    limit = config.duration + config.sign_in_limit + config.stop_timeout + 120
    done = subprocess.run(
        cmd, env=env, stdout=sys.stderr, stderr=sys.stderr, timeout=limit, cwd=out_dir
    )
    if not result.exists():
        raise RuntimeError(f"locust exited with code {done.returncode} and wrote no results")
    data: dict[str, Any] = json.loads(result.read_text())
    data["locust_exit_code"] = done.returncode
    return data


def page_report(latencies_ms: list[float], failures: int, wall_s: float) -> dict[str, Any]:
    n = len(latencies_ms)
    out: dict[str, Any] = {
        "requests": n,
        "failures": failures,
        "error_rate": round(failures / n, 5) if n else 0.0,
        "rps": round(n / wall_s, 2) if wall_s > 0 else 0.0,
    }
    out.update(summarise([x / 1000 for x in latencies_ms]))
    out.pop("n", None)
    return out


def _pages(
    latencies: dict[str, list[float]], failures: dict[str, int], wall: float
) -> dict[str, Any]:
    """Per page, all pages, and all pages but the sign-in (which hashes a password)."""
    every = [x for values in latencies.values() for x in values]
    browsing = [x for name, v in latencies.items() if name not in SIGN_IN_PAGES for x in v]
    browsing_failures = sum(n for name, n in failures.items() if name not in SIGN_IN_PAGES)
    return {
        "pages": {
            name: page_report(values, int(failures.get(name, 0)), wall)
            for name, values in sorted(latencies.items())
        },
        "total": page_report(every, sum(failures.values()), wall),
        "total_without_sign_in": page_report(browsing, browsing_failures, wall),
    }


def build_report(agents: dict[str, Any]) -> dict[str, Any]:
    """The whole run (ramp-up and sign-ins included), then the steady state: requests that
    completed once every agent had signed in."""
    ended, started = float(agents["ended"]), float(agents["started"])
    report: dict[str, Any] = {
        "wall_seconds": round(ended - started, 1),
        "stopped_by": agents["stopped_by"],
        **_pages(agents["latencies_ms"], agents["failures"], ended - started),
    }
    steady_from = agents.get("steady_from")
    if steady_from:
        window = ended - float(steady_from)
        report["steady_state"] = {
            "starts_after_seconds": round(float(steady_from) - started, 1),
            "wall_seconds": round(window, 1),
            **_pages(agents["steady_latencies_ms"], agents["steady_failures"], window),
        }
    report["counters"] = agents["counters"]
    report["failure_examples"] = agents["failure_examples"]
    return report


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: processes are stopped


def measure(config: LoadConfig, locust: Path) -> dict[str, Any]:
    with database(config) as (url, sample_path, cluster):
        sample = read_sample(sample_path)
        password = secrets.token_urlsafe(24)
        set_agent_password(url, password)
        target = ServerTarget(database_url=url, workers=config.workers)
        server = Server(cast(BenchConfig, target))  # Server reads .database_url and .workers
        worker: TaskWorker | None = None
        try:
            server.start()
            server.wait_ready()
            worker = TaskWorker(server.env)
            log(f"server up at {server.base_url} (workers={config.workers}), db_worker started")
            server_pids = process_tree(server.proc.pid if server.proc else os.getpid())
            cpu_before = cpu_seconds(server_pids)
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            load_start = os.getloadavg()
            with (
                tempfile.TemporaryDirectory(prefix="run-", dir=config.work_dir) as out,
                ConnectionWatch(cluster) as watch,
            ):
                agents = run_locust(
                    config, locust, server.base_url, sample_path, password, Path(out)
                )
                keep = config.work_dir / "last-run"
                shutil.rmtree(keep, ignore_errors=True)
                shutil.copytree(out, keep)
            load_end = os.getloadavg()
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_pids = process_tree(server.proc.pid if server.proc else os.getpid())
            server_cpu = cpu_seconds(server_pids) - cpu_before
            rss = {
                "server_processes": sorted(
                    (round(vm_hwm_mb(pid), 1) for pid in server_pids), reverse=True
                ),
                "server_max": round(server.peak_rss_mb(), 1),
                "db_worker": round(worker.peak_rss_mb(), 1),
                # Counts the shared buffers a backend touched: overstates private memory.
                "postgresql_max": cluster.peak_rss_mb() if cluster else None,
                "locust_and_other_children": round(children_after.ru_maxrss / 1024, 1),
            }
            worker_alive = worker.alive()
            pg_sessions = {"max": watch.most, "polls_refused": watch.refused} if cluster else None
        finally:
            if worker is not None:
                worker.stop()
            server.stop()
    report = build_report(agents)
    locust_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    report["cpu_seconds"] = {
        "server": round(server_cpu, 1),
        "locust": round(locust_cpu, 1),
        "machine_capacity": round(report["wall_seconds"] * (os.cpu_count() or 1), 1),
    }
    report["peak_rss_mb"] = rss
    report["db_worker_alive_at_end"] = worker_alive
    report["postgresql_sessions_max"] = pg_sessions
    report["loadavg"] = {
        "start_1m": round(load_start[0], 2),
        "end_1m": round(load_end[0], 2),
        "end_5m": round(load_end[1], 2),
    }
    report["locust_exit_code"] = agents["locust_exit_code"]
    report["fixture"] = {
        "customers": sample["counts"]["customers"],
        "cases": sample["counts"]["cases"],
        "open_cases": sample["counts"]["open_cases"],
        "heavy_customer_events": sample["heavy_events"],
        "agents": len(sample["agents"]),
        "seed_demo": {"customers": config.fixture.customers, "events": config.fixture.events},
    }
    return report


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # No SMTP server here: customer email from the worker goes nowhere.
    os.environ["LOXODON_EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    if config.conn_max_age is not None:
        os.environ["LOXODON_CONN_MAX_AGE"] = str(config.conn_max_age)
    if config.database == "postgresql":
        os.environ["LOXODON_DB_POOL_MAX"] = str(config.db_pool_max)
    started = datetime.now(UTC)
    machine = machine_info()
    try:
        locust = ensure_locust_venv(config.venv)
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"cannot install locust into {config.venv} (no package index?): {exc}")
        return VENV_UNAVAILABLE
    try:
        results = measure(config, locust)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as exc:
        log(f"failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    report = {
        "date": started.date().isoformat(),
        "database": config.database,
        "users": config.users,
        "duration_s": config.duration,
        "sign_in_limit_s": config.sign_in_limit,
        "spawn_rate": config.spawn_rate,
        "think_time_s": [config.think_min, config.think_max],
        "weights": config.weights or "default (queues=3,search=3,customer=4,case=3,note=1)",
        "max_requests": config.max_requests,
        "server": {
            "command": "loxodon serve (uvicorn) + loxodon db_worker",
            "workers": config.workers,
            "conn_max_age_s": int(os.environ.get("LOXODON_CONN_MAX_AGE", "0")),
            "db_pool_max": int(os.environ.get("LOXODON_DB_POOL_MAX", "0")),
        },
        **results,
        "code": code_version(),
        "machine": machine,
    }
    print(json.dumps(report, indent=2))
    return 0
