"""The measurements, all over real HTTP on loopback: batch ingest and the 360 view."""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.datagen import BODY
from bench.loader import log

INGEST_TYPES = (
    ("phone", "call", "Inbound call: delivery question"),
    ("email", "message", "Email: where is my parcel?"),
    ("web", "order", "Order placed on the web shop"),
    ("system", "shipment", "Shipment dispatched"),
    ("chat", "chat", "Chat with support"),
)
INGEST_SPREAD_S = 30 * 86_400  # ingested events happened over the last 30 days


def summarise(latencies_s: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/p99 (inclusive quantiles), mean and max, in milliseconds."""
    ms = sorted(x * 1000 for x in latencies_s)
    if len(ms) < 2:
        only = round(ms[0], 2) if ms else 0.0
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only, "n": len(ms)}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(ms[-1], 2),
        "n": len(ms),
    }


def _payload(kind: str, n: int) -> dict[str, Any]:
    """A payload valid for the kind (transactions are schema-checked on ingest)."""
    if kind == "order":
        return {
            "order_number": f"ING-{n}",
            "total": n % 997 + 0.5,
            "currency": "GBP",
            "lines": [{"product": "USB-C Dock G5", "quantity": 1, "unit_price": n % 997 + 0.5}],
        }
    if kind == "shipment":
        return {"order_number": f"ING-{n}", "carrier": "DPD", "status": "in_transit"}
    return {"ref": f"ING-{n}", "amount": n % 997 + 0.5}


def _event(customer_id: str, external_id: str, at: datetime, n: int) -> dict[str, Any]:
    channel, kind, summary = INGEST_TYPES[n % len(INGEST_TYPES)]
    event: dict[str, Any] = {
        "source": "bench-ingest",
        "external_id": external_id,
        "channel": channel,
        "kind": kind,
        "occurred_at": at.isoformat(),
        "summary": summary,
        "body": BODY if kind in ("message", "chat") else "",
        "payload": _payload(kind, n),
        "customer_id": customer_id,
    }
    if channel == "phone":
        event["actor"] = "bench-agent-02"
        event["site"] = "lon"
    return event


def batch_bodies(customer_ids: Sequence[str], batches: int, size: int) -> list[bytes]:
    """Serialised request bodies, built before the clock starts. Keys are unique per run."""
    run = uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    bodies = []
    for b in range(batches):
        events = [
            _event(
                random.choice(customer_ids),
                f"{run}-{b:04d}-{i:04d}",
                now - timedelta(seconds=(b * size + i) * 127 % INGEST_SPREAD_S),
                b * size + i,
            )
            for i in range(size)
        ]
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def _post_batch(client: httpx.Client, body: bytes, expected: int) -> float:
    started = time.perf_counter()
    r = client.post(
        "/api/v1/events/batch", content=body, headers={"Content-Type": "application/json"}
    )
    elapsed = time.perf_counter() - started
    if r.status_code != 201 or r.json().get("created") != expected:
        raise RuntimeError(f"batch ingest failed: HTTP {r.status_code} {r.text[:300]}")
    return elapsed


def measure_ingest(
    client: httpx.Client, customer_ids: Sequence[str], batches: int, size: int
) -> dict[str, Any]:
    """Sequential batches of new events; events/s = all events / total wall time."""
    _post_batch(client, batch_bodies(customer_ids, 1, 10)[0], 10)  # warm-up, not timed
    bodies = batch_bodies(customer_ids, batches, size)
    log(f"ingest: {batches} batches of {size} events")
    started = time.perf_counter()
    latencies = [_post_batch(client, body, size) for body in bodies]
    wall = time.perf_counter() - started
    stats = summarise(latencies)
    return {
        "events_per_s": round(batches * size / wall, 1),
        "events": batches * size,
        "batches": batches,
        "batch_size": size,
        "wall_s": round(wall, 2),
        "batch_p50_ms": stats["p50_ms"],
        "batch_p95_ms": stats["p95_ms"],
        "batch_max_ms": stats.get("max_ms", stats["p50_ms"]),
    }


def _get_view(client: httpx.Client, customer_id: str) -> float:
    started = time.perf_counter()
    r = client.get(f"/api/v1/customers/{customer_id}/view")
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"360 view failed: HTTP {r.status_code} {r.text[:300]}")
    return elapsed


def view_latencies(client: httpx.Client, customer_ids: Sequence[str]) -> list[float]:
    """One sequential 360-view request per id, in the order given."""
    return [_get_view(client, customer_id) for customer_id in customer_ids]


def measure_views(
    client: httpx.Client, warm: Sequence[str], typical: Sequence[str], heavy: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Warm up on other customers, then time the typical and the heavy customers separately."""
    log(f"360 view: warm-up with {len(warm)} requests")
    view_latencies(client, warm)
    log(f"360 view: {len(typical)} typical and {len(heavy)} heavy-customer requests")
    return summarise(view_latencies(client, typical)), summarise(view_latencies(client, heavy))
