"""Event ingest with P concurrent processes against one PostgreSQL, two ways.

- `http`: `loxodon serve --workers P` (uvicorn, the production server) and P client processes,
  each posting 1,000-event batches to POST /api/v1/events/batch on its own keep-alive
  connection, as integrations do.
- `service`: P worker processes calling `ingest_events` directly with the same batches, as a
  fleet of task workers would (no HTTP, no JSON, no request validation; the same transaction).

Each step runs for a fixed time: the processes build their batches, warm up with one small
batch, wait at a common start, post batches until the deadline and finish the batch in hand.
events/s = all events stored / (last finish - start).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

import httpx

from bench.datagen import BODY
from bench.scaleout import observe
from bench.scaleout.pgload import log

HOST = "127.0.0.1"  # loopback only
SPREAD_S = 30 * 86_400
TYPES = (
    ("phone", "call", "Inbound call: delivery question"),
    ("email", "message", "Email: where is my parcel?"),
    ("web", "order", "Order placed on the web shop"),
    ("system", "shipment", "Shipment dispatched"),
    ("chat", "chat", "Chat with support"),
)


def _payload(kind: str, n: int) -> dict[str, Any]:
    if kind == "order":
        return {
            "order_number": f"SO-{n}",
            "total": n % 997 + 0.5,
            "currency": "GBP",
            "lines": [{"product": "USB-C Dock G5", "quantity": 1, "unit_price": n % 997 + 0.5}],
        }
    if kind == "shipment":
        return {"order_number": f"SO-{n}", "carrier": "DPD", "status": "in_transit"}
    return {"ref": f"SO-{n}", "amount": n % 997 + 0.5}


def event_dicts(customers: list[str], run: str, batch: int, size: int) -> list[dict[str, Any]]:
    """One batch of new events as the API takes them (the same mix as `make bench`)."""
    now = datetime.now(UTC)
    rnd = int.from_bytes(run.encode()) + batch
    events = []
    for i in range(size):
        n = batch * size + i
        channel, kind, summary = TYPES[n % len(TYPES)]
        event: dict[str, Any] = {
            "source": "scaleout-ingest",
            "external_id": f"{run}-{batch:05d}-{i:04d}",
            "channel": channel,
            "kind": kind,
            "occurred_at": (now - timedelta(seconds=(n * 127) % SPREAD_S)).isoformat(),
            "summary": summary,
            "body": BODY if kind in ("message", "chat") else "",
            "payload": _payload(kind, n),
            "customer_id": customers[(rnd * 7919 + i * 104_729) % len(customers)],
        }
        if channel == "phone":
            event["actor"] = "bench-agent-02"
            event["site"] = "lon"
        events.append(event)
    return events


# --- the processes that send ---------------------------------------------------------------
def _http_client(job: dict[str, Any], ready: Any, go: MpEvent, deadline: Any, results: Any) -> None:
    run = f"h{job['index']}-{uuid.uuid4().hex[:10]}"
    headers = {"Authorization": f"Bearer {job['token']}", "Content-Type": "application/json"}
    bodies = [
        json.dumps({"events": event_dicts(job["customers"], run, b, job["size"])}).encode()
        for b in range(job["prebuilt"] + 1)
    ]
    with httpx.Client(base_url=job["base_url"], headers=headers, timeout=300.0) as client:
        warm = json.dumps({"events": event_dicts(job["customers"], run + "w", 0, 10)})
        client.post("/api/v1/events/batch", content=warm.encode()).raise_for_status()
        ready.put(job["index"])
        go.wait()
        cpu0 = _cpu()
        latencies: list[float] = []
        b = 0
        while time.time() < deadline.value:
            b += 1
            body = bodies[b] if b < len(bodies) else _late_body(job, run, b)
            t0 = time.perf_counter()
            r = client.post("/api/v1/events/batch", content=body)
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 201 or r.json().get("created") != job["size"]:
                results.put({"error": f"HTTP {r.status_code} {r.text[:200]}"})
                return
    results.put(_report(latencies, job["size"], _cpu() - cpu0, max(0, b + 1 - len(bodies))))


def _view_client(job: dict[str, Any], ready: Any, go: MpEvent, deadline: Any, results: Any) -> None:
    """The read side for comparison: GET /api/v1/customers/{id}/view (the 360 view) in a loop,
    one request counted as one "event"."""
    headers = {"Authorization": f"Bearer {job['token']}"}
    customers = job["customers"]
    with httpx.Client(base_url=job["base_url"], headers=headers, timeout=300.0) as client:
        for c in customers[-20:]:
            client.get(f"/api/v1/customers/{c}/view").raise_for_status()
        ready.put(job["index"])
        go.wait()
        cpu0 = _cpu()
        latencies: list[float] = []
        n = 0
        while time.time() < deadline.value:
            t0 = time.perf_counter()
            r = client.get(f"/api/v1/customers/{customers[n % len(customers)]}/view")
            latencies.append(time.perf_counter() - t0)
            n += 1
            if r.status_code != 200:
                results.put({"error": f"HTTP {r.status_code} {r.text[:200]}"})
                return
    results.put(_report(latencies, 1, _cpu() - cpu0, 0))


def _late_body(job: dict[str, Any], run: str, b: int) -> bytes:
    return json.dumps({"events": event_dicts(job["customers"], run, b, job["size"])}).encode()


def _service_worker(
    job: dict[str, Any], ready: Any, go: MpEvent, deadline: Any, results: Any
) -> None:
    os.environ.update(job["env"])
    import django

    django.setup()
    from loxodon.timeline.services import EventDraft, ingest_events

    def drafts(batch: int, size: int, tag: str) -> list[EventDraft]:
        return [
            EventDraft(
                source=e["source"],
                external_id=e["external_id"],
                channel=e["channel"],
                kind=e["kind"],
                occurred_at=datetime.fromisoformat(e["occurred_at"]),
                summary=e["summary"],
                body=e["body"],
                payload=e["payload"],
                customer_id=uuid.UUID(e["customer_id"]),
                site=e.get("site"),
                actor=e.get("actor"),
            )
            for e in event_dicts(job["customers"], tag, batch, size)
        ]

    run = f"s{job['index']}-{uuid.uuid4().hex[:10]}"
    batches = [drafts(b, job["size"], run) for b in range(job["prebuilt"] + 1)]
    ingest_events(drafts(0, 10, run + "w"))
    ready.put(job["index"])
    go.wait()
    cpu0 = _cpu()
    latencies: list[float] = []
    b = 0
    while time.time() < deadline.value:
        b += 1
        batch = batches[b] if b < len(batches) else drafts(b, job["size"], run)
        t0 = time.perf_counter()
        stored = ingest_events(batch)
        latencies.append(time.perf_counter() - t0)
        if sum(1 for r in stored if r.created) != job["size"]:
            results.put({"error": "a batch did not store every event"})
            return
    results.put(_report(latencies, job["size"], _cpu() - cpu0, max(0, b + 1 - len(batches))))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _report(latencies: list[float], size: int, cpu_s: float, late: int) -> dict[str, Any]:
    return {"latencies": latencies, "events": len(latencies) * size, "finished": time.time(),
            "cpu_s": cpu_s, "built_late": late}  # fmt: skip


# --- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
        "LOXODON_DEBUG": "0",
        "LOXODON_SECRET_KEY": os.environ.get("LOXODON_SECRET_KEY") or secrets.token_urlsafe(48),
        "LOXODON_ALLOWED_HOSTS": HOST,
        "LOXODON_SSL_REDIRECT": "0",
        "LOXODON_LOG_LEVEL": "WARNING",
    }


def loxodon(*args: str) -> list[str]:
    return [sys.executable, "-m", "loxodon.cli", *args]


class Server:
    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        cmd = loxodon("serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers))
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=sys.stderr, stderr=sys.stderr, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"loxodon serve exited ({self.proc.returncode})")
            try:
                httpx.get(f"{self.base_url}/api/v1/openapi.json", timeout=5.0)
                return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("loxodon serve did not answer")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)


def create_token(env: dict[str, str]) -> str:
    out = subprocess.run(
        loxodon("create_api_token", "bench-agent-01", "--name", "scaleout"),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


# --- one step ------------------------------------------------------------------------------
def run_step(
    variant: str,
    procs: int,
    *,
    url: str,
    env: dict[str, str],
    customers: list[str],
    duration: float,
    size: int,
    token: str,
) -> dict[str, Any]:
    """P processes for `duration` seconds; throughput, latency, CPU split, waits and WAL."""
    ctx = multiprocessing.get_context("fork")
    ready, results = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    deadline = ctx.Value("d", 0.0)
    server = Server(env, procs) if variant in ("http", "view") else None
    pm = observe.postmaster_pid(url)
    target = {"http": _http_client, "view": _view_client, "service": _service_worker}[variant]
    share = max(1, len(customers) // procs)
    prebuilt = int(duration * 3 / procs) + 3  # ~3,000 events/s in all; later ones are built late
    jobs = [
        {
            "index": i,
            "customers": customers[i * share : (i + 1) * share],
            "size": 1 if variant == "view" else size,
            "prebuilt": prebuilt,
            "token": token,
            "base_url": server.base_url if server else "",
            "env": env,
        }
        for i in range(procs)
    ]
    children = [ctx.Process(target=target, args=(j, ready, go, deadline, results)) for j in jobs]
    try:
        for c in children:
            c.start()
        for _ in children:
            ready.get(timeout=600)
        with observe.connect(url) as conn:
            observe.reset_statements(conn)
            before = observe.pg_counters(conn)
            load0 = observe.loadavg()
            sampler = observe.WaitSampler(url).start()
            srv0 = observe.tree_cpu_s(server.proc.pid) if server else 0.0
            pg0 = observe.tree_cpu_s(pm) if pm else 0.0
            busy0, total0 = observe.machine_busy_s()
            start = time.time()
            deadline.value = start + duration
            go.set()
            reports = [results.get(timeout=duration + 600) for _ in children]
            end = max((r.get("finished", time.time()) for r in reports), default=time.time())
            srv1 = observe.tree_cpu_s(server.proc.pid) if server else 0.0
            pg1 = observe.tree_cpu_s(pm) if pm else 0.0
            busy1, total1 = observe.machine_busy_s()
            waits = sampler.stop()
            after = observe.pg_counters(conn)
            statements = observe.top_statements(conn)
            load1 = observe.loadavg()
    finally:
        for c in children:
            c.join(timeout=60)
            if c.is_alive():
                c.terminate()
        if server:
            server.stop()
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise RuntimeError(f"{variant} P={procs}: {errors[0]}")
    wall = end - start
    events = sum(r["events"] for r in reports)
    latencies = sorted(x for r in reports for x in r["latencies"])
    d = {k: after[k] - before[k] for k in after}
    clients_cpu = sum(r["cpu_s"] for r in reports)
    cores = 1.0 * (busy1 - busy0) / wall
    cpu = {
        "server_processes": round((srv1 - srv0) / wall, 2),
        "postgres_processes": round((pg1 - pg0) / wall, 2),
        ("ingest_worker_processes" if variant == "service" else "client_processes"): round(
            clients_cpu / wall, 2
        ),
        "whole_machine_busy": round(cores, 2),
        "machine_cores": round((total1 - total0) / wall, 2),
    }
    per_1000 = {
        "server_cpu_ms": round(1e6 * (srv1 - srv0) / events, 1),
        "postgres_cpu_ms": round(1e6 * (pg1 - pg0) / events, 1),
        ("worker_cpu_ms" if variant == "service" else "client_cpu_ms"): round(
            1e6 * clients_cpu / events, 1
        ),
    }
    return {
        "variant": variant,
        "processes": procs,
        "events": events,
        "wall_s": round(wall, 2),
        "events_per_s": round(events / wall, 1),
        "batches": len(latencies),
        "batch_p50_ms": round(1000 * statistics.median(latencies), 1),
        "batch_p95_ms": round(1000 * _quantile(latencies, 0.95), 1),
        "batch_max_ms": round(1000 * latencies[-1], 1),
        "batches_built_during_run": sum(r["built_late"] for r in reports),
        "cpu_cores_used": cpu,
        "cpu_per_1000_events": per_1000,
        "wal_bytes_per_event": round(d["lsn_bytes"] / events),
        "wal_full_page_images_per_event": round(d["wal_fpi"] / events, 3),
        "wal_records_per_event": round(d["wal_records"] / events, 2),
        "commits": int(d["xact_commit"]),
        "wal_syncs": int(d["wal_sync"]),
        "wal_sync_ms_total": round(d["wal_sync_ms"], 1),
        "wal_write_ms_total": round(d["wal_write_ms"], 1),
        "blocks_read": int(d["blks_read"]),
        "waits": waits,
        "top_statements": statements,
        "loadavg_before": load0,
        "loadavg_after": load1,
    }


def _quantile(sorted_values: list[float], q: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[round(q * 100) - 1]


def run(
    url: str,
    customers: list[str],
    procs: list[int],
    variants: list[str],
    duration: float,
    size: int,
    rounds: int,
) -> list[dict[str, Any]]:
    env = server_env(url)
    token = create_token(env) if {"http", "view"} & set(variants) else ""
    steps = []
    for r in range(rounds):
        for p in procs:
            for v in variants:
                log(f"round {r + 1}: {v} with {p} process(es) for {duration:.0f} s")
                step = run_step(
                    v, p, url=url, env=env, customers=customers, duration=duration, size=size,
                    token=token,
                )  # fmt: skip
                step["round"] = r + 1
                log(
                    f"  {step['events_per_s']:,.0f} events/s, batch p50 {step['batch_p50_ms']} "
                    f"ms, cpu {step['cpu_cores_used']}"
                )
                steps.append(step)
    return steps
