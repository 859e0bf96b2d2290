"""`python -m bench.peers.helpdesk`: Loxodon side by side with django-helpdesk (issue 9).

For each scale (`--tickets 10000,100000`):

1. django-helpdesk 2.6.1 and every dependency, pinned in requirements-helpdesk.txt, go into
   their own virtualenv (var/peers/venv; never .venv). If pip cannot install them the run
   stops with a clear message (exit code 3).
2. The same synthetic customers, cases and follow-ups (bench/peers/dataset.py, over
   bench/datagen.py) are loaded into both: Loxodon with raw SQL `executemany` on its migrated
   schema (like `make bench`), django-helpdesk with the ORM's bulk_create (bench/peers/hd_load.py).
3. Each system runs on its own real server on loopback with one worker process and DEBUG off:
   `loxodon serve --workers 1` (uvicorn) and gunicorn (gthread, one worker, one thread, so the
   connection is kept alive) for django-helpdesk's WSGI project (bench/peers/hd_settings.py).
4. In the same run, interleaved in rounds, on one keep-alive connection per system:
   a) creation: django-helpdesk's REST API `POST /helpdesk/api/tickets/` (staff session, CSRF
      header) against Loxodon's `POST /api/v1/cases` (bearer token), one case per request,
      and Loxodon's `POST /api/v1/cases/batch` (100 cases per request, one transaction; the
      way an integration or a migration opens many), after a warm-up;
   b) one customer's history: django-helpdesk's ticket list searched by the customer's email
      (the page and the data request its table makes) plus the customer's latest ticket with
      its follow-ups, timed as one sum, against Loxodon's desk customer page; Loxodon's 360 API
      view is timed too.

Prints one JSON object on stdout (progress on stderr); `--save-dir DIR` also writes
DIR/peers-<tickets>.json for each scale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.config import BENCH_USER, PROJECT_DIR, VAR_DIR, BenchConfig
from bench.desk import desk_client, set_desk_password, sign_in
from bench.loader import bulk_connection, log, migrate, remove_database
from bench.machine import code_version, machine_info
from bench.measure import summarise
from bench.peers.dataset import PROBLEMS, Fixture, PeerData
from bench.server import HOST, Server, free_port, process_tree, vm_hwm_mb

PEER_DIR = VAR_DIR / "peers"
VENV = PEER_DIR / "venv"  # --venv overrides it
REQUIREMENTS = Path(__file__).resolve().parent / "requirements-helpdesk.txt"
HD_USER = "bench-agent"
READY_TIMEOUT_S = 90.0
WARM = 20  # warm-up creations per system, and warm-up history customers
ROUND = 20  # requests per system per interleaved round
BATCH = 100  # cases per Loxodon batch request (one batch per round)
DATATABLES = re.compile(r'"url":\s*"([^"]*datatables_ticket_list/[^"]+)"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')


class PeerInstallError(RuntimeError):
    """pip could not install the peer's pinned requirements."""


# --- the peer's virtualenv ---------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create var/peers/venv and install the pinned requirements (once per requirements file)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text() == digest and venv_python().exists():
        return
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    log(f"creating {VENV} and installing {REQUIREMENTS.name}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    done = subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        stdout=sys.stderr,
        stderr=sys.stderr,
    )
    if done.returncode != 0:
        raise PeerInstallError(
            f"pip could not install django-helpdesk's pinned requirements ({REQUIREMENTS}) "
            f"into {VENV} (exit code {done.returncode}). It needs PyPI (or a mirror pip is "
            "configured for); see pip's message above. Nothing was measured."
        )
    check = subprocess.run(
        [str(venv_python()), "-m", "pip", "check"], capture_output=True, text=True
    )
    if check.returncode != 0:
        raise PeerInstallError(f"the peer's requirements conflict: {check.stdout.strip()}")
    stamp.write_text(digest)


def peer_versions() -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in "
        "('django-helpdesk', 'Django', 'djangorestframework', 'gunicorn')}))"
    )
    out = subprocess.run(
        [str(venv_python()), "-c", code], capture_output=True, text=True, check=True
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def our_versions() -> dict[str, str]:
    return {p: metadata.version(p) for p in ("loxodon", "Django", "django-ninja", "uvicorn")}


def peer_env(db: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.peers.hd_settings",
        PYTHONPATH=str(PROJECT_DIR),
        HD_DB=str(db),
        HD_MEDIA=str(PEER_DIR / "media"),
    )
    env.update(extra)
    return env


# --- fixtures ----------------------------------------------------------------------------


def loxodon_config(db: Path, fixture_scale: tuple[int, int], seed: int) -> BenchConfig:
    customers, events = fixture_scale
    return BenchConfig(
        customers=customers, events=events, db_path=db, view_requests=1, heavy_requests=1,
        desk_requests=1, desk_heavy_requests=1, batches=1, batch_size=1, workers=1,
        fresh=True, seed=seed, identity_records=0, resolve_customers=0, febrl=False,
    )  # fmt: skip


def load_both(
    tickets: int, seed: int, password: str
) -> tuple[Fixture, BenchConfig, Path, dict[str, Any]]:
    """Generate once, load Loxodon (raw SQL) and django-helpdesk (bulk_create)."""
    data = PeerData(tickets, seed, datetime.now(UTC))
    ours = PEER_DIR / f"loxodon-{tickets}.sqlite3"
    theirs = PEER_DIR / f"helpdesk-{tickets}.sqlite3"
    rows = PEER_DIR / f"helpdesk-{tickets}.jsonl"
    config = loxodon_config(ours, (data.scale.customers, data.scale.events), seed)
    remove_database(ours)
    remove_database(theirs)
    started = time.perf_counter()
    migrate(config)
    migrated = time.perf_counter()
    log(f"migrated in {migrated - started:.1f} s")
    log(
        f"loading {tickets:,} cases, {data.scale.customers:,} customers and "
        f"{data.scale.events:,} background events into {ours.name}"
    )
    with bulk_connection(ours) as conn, rows.open("w", encoding="utf-8") as out:
        fixture = data.write(conn, out)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ours_loaded = time.perf_counter()
    log(f"django-helpdesk: migrate → {theirs.name}")
    env = peer_env(theirs, HD_PASSWORD=password)
    py = str(venv_python())
    subprocess.run(
        [py, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=env, check=True, cwd=PROJECT_DIR, stdout=sys.stderr,
    )  # fmt: skip
    hd_migrated = time.perf_counter()
    log(f"django-helpdesk: loading {tickets:,} tickets and {fixture.followups:,} follow-ups")
    done = subprocess.run(
        [py, "-m", "bench.peers.hd_load", str(rows)],
        env=env, check=True, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=sys.stderr,
        text=True,
    )  # fmt: skip
    hd_info: dict[str, Any] = json.loads(done.stdout)
    hd_loaded = time.perf_counter()
    rows.unlink()
    load = {
        "loxodon": {
            "method": "raw SQL executemany on the migrated schema (bench/peers/dataset.py); "
            "load_s includes generating both systems' rows",
            "migrate_s": round(migrated - started, 1),
            "load_s": round(ours_loaded - migrated, 1),
            "db_mb": round(ours.stat().st_size / 1e6, 1),
        },
        "helpdesk": {
            "method": hd_info["method"],
            "migrate_s": round(hd_migrated - ours_loaded, 1),
            "load_s": round(hd_loaded - hd_migrated, 1),
            "db_mb": round(theirs.stat().st_size / 1e6, 1),
            "queues": hd_info["queues"],
        },
    }
    return fixture, config, theirs, load


# --- the django-helpdesk server ----------------------------------------------------------


class HelpdeskServer:
    """gunicorn serving the django-helpdesk project: one worker process, one thread."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        cmd = [
            str(VENV / "bin" / "gunicorn"), "bench.peers.hd_wsgi:application",
            "--bind", f"{HOST}:{self.port}", "--workers", "1",
            "--worker-class", "gthread", "--threads", "1", "--keep-alive", "30",
            "--log-level", "warning", "--chdir", str(PROJECT_DIR),
        ]  # fmt: skip
        env = peer_env(self.db, HD_SECRET_KEY=secrets.token_urlsafe(48))
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=sys.stderr, stderr=sys.stderr, start_new_session=True
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn (django-helpdesk) exited: {self.proc.returncode}")
            try:
                httpx.get(f"{self.base_url}/helpdesk/login/", timeout=5.0)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn (django-helpdesk) did not answer in time")

    def peak_rss_mb(self) -> float:
        if self.proc is None:
            return 0.0
        return max((vm_hwm_mb(pid) for pid in process_tree(self.proc.pid)), default=0.0)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def helpdesk_client(base_url: str, password: str) -> httpx.Client:
    """A staff member signed in through django-helpdesk's own login form."""
    client = httpx.Client(
        base_url=base_url,
        headers={"Accept": "text/html,application/xhtml+xml", "User-Agent": "loxodon-bench"},
        timeout=120.0,
    )
    form = client.get("/helpdesk/login/")
    found = CSRF_FIELD.search(form.text)
    if form.status_code != 200 or found is None:
        raise RuntimeError(f"helpdesk login form: HTTP {form.status_code} {form.text[:300]}")
    done = client.post(
        "/helpdesk/login/",
        data={
            "username": HD_USER,
            "password": password,
            "csrfmiddlewaretoken": found.group(1),
            "next": "/helpdesk/",
        },
        headers={"Referer": f"{base_url}/helpdesk/login/"},
    )
    if done.status_code != 302 or client.cookies.get("sessionid") is None:
        raise RuntimeError(f"helpdesk sign-in failed: HTTP {done.status_code} {done.text[:300]}")
    return client


# --- measurements ------------------------------------------------------------------------


def _timed(
    call: Callable[[], httpx.Response], expect: int, what: str
) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    r = call()
    elapsed = time.perf_counter() - started
    if r.status_code != expect:
        raise RuntimeError(f"{what}: HTTP {r.status_code} (expected {expect}) {r.text[:300]}")
    return elapsed, r


class Creator:
    """One creation per call, on each system's keep-alive connection."""

    def __init__(
        self, ours: httpx.Client, theirs: httpx.Client, fixture: Fixture, queue_id: int
    ) -> None:
        self.ours, self.theirs = ours, theirs
        rowids = sorted(fixture.customer_ids)
        self.customers = [
            (str(uuid.UUID(fixture.customer_ids[r])), fixture.emails[r]) for r in rowids[:500]
        ]
        self.queue_id = queue_id
        self.n = 0
        self.run = secrets.token_hex(4)  # keys of this run's batches (a rerun opens new cases)

    def _next(self) -> tuple[str, str, str, str]:
        self.n += 1
        customer, email = self.customers[self.n % len(self.customers)]
        title, problem = PROBLEMS[self.n % len(PROBLEMS)]
        return customer, email, title, f"{problem} (bench {self.n})"

    def loxodon(self) -> float:
        customer, _, _, problem = self._next()
        elapsed, _ = _timed(
            lambda: self.ours.post(
                "/api/v1/cases", json={"customer_id": customer, "problem": problem}
            ),
            201,
            "POST /api/v1/cases",
        )
        return elapsed

    def loxodon_batch(self) -> float:
        """BATCH cases in one `POST /api/v1/cases/batch` (one transaction); the request's time."""
        cases = []
        for _ in range(BATCH):
            customer, _, _, problem = self._next()
            cases.append(
                {"customer_id": customer, "problem": problem, "source": "bench-peers",
                 "external_id": f"{self.run}-{self.n}"}
            )  # fmt: skip
        elapsed, r = _timed(
            lambda: self.ours.post("/api/v1/cases/batch", json={"cases": cases}),
            201,
            "POST /api/v1/cases/batch",
        )
        if r.json()["created"] != BATCH:
            raise RuntimeError(f"POST /api/v1/cases/batch opened {r.json()['created']} cases")
        return elapsed

    def helpdesk(self) -> float:
        _, email, title, problem = self._next()
        body = {
            "queue": self.queue_id, "title": title, "description": problem,
            "submitter_email": email, "priority": 3,
        }  # fmt: skip
        token = self.theirs.cookies.get("csrftoken") or ""
        elapsed, _ = _timed(
            lambda: self.theirs.post(
                "/helpdesk/api/tickets/",
                json=body,
                headers={"X-CSRFToken": token, "Accept": "application/json"},
            ),
            201,
            "POST /helpdesk/api/tickets/",
        )
        return elapsed


def measure_creation(creator: Creator, n: int) -> dict[str, Any]:
    """Interleaved rounds of ROUND single creations on each system and one batch of BATCH
    cases on Loxodon, in an order that rotates every round."""
    for _ in range(WARM):
        creator.loxodon()
        creator.helpdesk()
    creator.loxodon_batch()
    timed: dict[str, list[float]] = {"loxodon": [], "helpdesk": [], "loxodon_batch": []}
    calls: dict[str, Callable[[], float]] = {
        "loxodon": creator.loxodon, "helpdesk": creator.helpdesk,
        "loxodon_batch": creator.loxodon_batch,
    }  # fmt: skip
    order = list(calls)
    rounds = 0
    while len(timed["loxodon"]) < n:
        k = min(ROUND, n - len(timed["loxodon"]))
        for name in order[rounds % 3 :] + order[: rounds % 3]:
            timed[name].extend(calls[name]() for _ in range(1 if name == "loxodon_batch" else k))
        rounds += 1
    ours, theirs, batches = timed["loxodon"], timed["helpdesk"], timed["loxodon_batch"]
    per_s_ours = len(ours) / sum(ours)
    per_s_theirs = len(theirs) / sum(theirs)
    per_s_batch = BATCH * len(batches) / sum(batches)
    return {
        "loxodon": {
            "endpoint": "POST /api/v1/cases",
            "per_s": round(per_s_ours, 1),
            **summarise(ours),
        },
        "loxodon_batch": {
            "endpoint": f"POST /api/v1/cases/batch ({BATCH} cases per request)",
            "per_s": round(per_s_batch, 1),
            "cases": BATCH * len(batches),
            "request": summarise(batches),
        },
        "helpdesk": {
            "endpoint": "POST /helpdesk/api/tickets/",
            "per_s": round(per_s_theirs, 1),
            **summarise(theirs),
        },
        "ratio_per_s": round(per_s_ours / per_s_theirs, 2),
        "ratio_per_s_batch": round(per_s_batch / per_s_theirs, 2),
    }


class History:
    """One customer's history on each system; also records what each page shows."""

    def __init__(self, desk: httpx.Client, api: httpx.Client, theirs: httpx.Client) -> None:
        self.desk, self.api, self.theirs = desk, api, theirs
        self.shown: dict[str, list[dict[str, Any]]] = {"loxodon": [], "helpdesk": []}

    def helpdesk(self, email: str, tickets: list[int], record: bool) -> tuple[float, float, float]:
        t_list, page = _timed(
            lambda: self.theirs.get("/helpdesk/tickets/", params={"q": email}),
            200,
            "helpdesk ticket list",
        )
        found = DATATABLES.search(page.text)
        if found is None:
            raise RuntimeError("helpdesk ticket list: no datatables_ticket_list URL in the page")
        t_data, data = _timed(
            lambda: self.theirs.get(
                found.group(1),
                params={"draw": "1", "start": "0", "length": "25"},
                headers={"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"},
            ),
            200,
            "helpdesk ticket list data",
        )
        rows = data.json()
        if rows["recordsFiltered"] < len(tickets):
            raise RuntimeError(
                f"helpdesk list for {email}: {rows['recordsFiltered']} tickets, "
                f"expected at least {len(tickets)}"
            )
        t_ticket, ticket = _timed(
            lambda: self.theirs.get(f"/helpdesk/tickets/{tickets[-1]}/"), 200, "helpdesk ticket"
        )
        if record:
            self.shown["helpdesk"].append(
                {
                    "tickets_listed": len(rows["data"]),
                    "tickets_found": rows["recordsFiltered"],
                    "followups_on_ticket_page": ticket.text.count("Thank you, we have checked")
                    + ticket.text.count("Called the customer back"),
                    "html_kb": round((len(page.content) + len(ticket.content)) / 1024, 1),
                    "json_kb": round(len(data.content) / 1024, 1),
                }
            )
        return t_list, t_data, t_ticket

    def loxodon(self, customer: str, record: bool) -> tuple[float, float]:
        t_desk, page = _timed(
            lambda: self.desk.get(f"/desk/customers/{customer}/"), 200, "desk customer page"
        )
        if "</html>" not in page.text:
            raise RuntimeError("desk customer page: not a whole page")
        t_view, view = _timed(
            lambda: self.api.get(f"/api/v1/customers/{customer}/view"), 200, "360 view"
        )
        if record:
            body = view.json()
            items = body["timeline"]["items"]
            self.shown["loxodon"].append(
                {
                    "cases": len(body["cases"]),
                    "timeline_items": len(items),
                    "timeline_channels": sorted({i["channel"] for i in items}),
                    "identities": len(body["identities"]),
                    "alerts": len(body["alerts"]),
                    "html_kb": round(len(page.content) / 1024, 1),
                    "json_kb": round(len(view.content) / 1024, 1),
                }
            )
        return t_desk, t_view


def measure_history(
    history: History, fixture: Fixture, n: int, rng: random.Random
) -> dict[str, Any]:
    heavy = set(fixture.heavy_rowids)
    candidates = [
        r for r, t in sorted(fixture.tickets_of.items()) if len(t) >= 2 and r not in heavy
    ]
    picked = rng.sample(candidates, min(len(candidates), WARM + n))
    hd_parts: list[tuple[float, float, float]] = []
    desk: list[float] = []
    view: list[float] = []
    for i, rowid in enumerate(picked):
        customer = str(uuid.UUID(fixture.customer_ids[rowid]))
        email, tickets = fixture.emails[rowid], fixture.tickets_of[rowid]
        record = i >= WARM
        if i % 2 == 0:
            theirs = history.helpdesk(email, tickets, record)
            ours = history.loxodon(customer, record)
        else:
            ours = history.loxodon(customer, record)
            theirs = history.helpdesk(email, tickets, record)
        if record:
            hd_parts.append(theirs)
            desk.append(ours[0])
            view.append(ours[1])
    hd_sum = [sum(p) for p in hd_parts]
    theirs_s, desk_s = summarise(hd_sum), summarise(desk)
    return {
        "customers": len(desk),
        "tickets_per_customer_mean": round(
            sum(len(fixture.tickets_of[r]) for r in picked[WARM:]) / max(1, len(picked) - WARM), 2
        ),
        "helpdesk_history": {
            "requests": "GET /helpdesk/tickets/?q=<email> + its datatables data request + "
            "GET /helpdesk/tickets/<latest>/ (sum)",
            **theirs_s,
            "parts_p95_ms": {
                "list_page": summarise([p[0] for p in hd_parts])["p95_ms"],
                "list_data": summarise([p[1] for p in hd_parts])["p95_ms"],
                "ticket_page": summarise([p[2] for p in hd_parts])["p95_ms"],
            },
            "parts_p50_ms": {
                "list_page": summarise([p[0] for p in hd_parts])["p50_ms"],
                "list_data": summarise([p[1] for p in hd_parts])["p50_ms"],
                "ticket_page": summarise([p[2] for p in hd_parts])["p50_ms"],
            },
        },
        "loxodon_desk_customer_page": {"requests": "GET /desk/customers/<id>/", **desk_s},
        "loxodon_api_view": {"requests": "GET /api/v1/customers/<id>/view", **summarise(view)},
        "ratio_p50": round(float(theirs_s["p50_ms"]) / float(desk_s["p50_ms"]), 2),
        "ratio_p95": round(float(theirs_s["p95_ms"]) / float(desk_s["p95_ms"]), 2),
    }


def _mean_shown(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        if isinstance(values[0], list):
            out[key] = sorted({v for vs in values for v in vs})
        else:
            out[key + "_mean"] = round(sum(values) / len(values), 1)
    return out


def run_scale(tickets: int, creates: int, histories: int, seed: int) -> dict[str, Any]:
    load_start = round(os.getloadavg()[0], 2)
    password = secrets.token_urlsafe(24)
    fixture, config, hd_db, load = load_both(tickets, seed, password)
    desk_password = set_desk_password(config, BENCH_USER)
    ours = Server(config)
    theirs = HelpdeskServer(hd_db)
    try:
        ours.start()
        ours.wait_ready()
        theirs.start()
        log(f"servers up: loxodon {ours.base_url}, django-helpdesk {theirs.base_url}")
        token = ours.create_token(BENCH_USER)
        loadavg = [round(os.getloadavg()[0], 2)]
        api = httpx.Client(
            base_url=ours.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120.0
        )
        desk = desk_client(ours.base_url)
        hd = helpdesk_client(theirs.base_url, password)
        try:
            sign_in(desk, BENCH_USER, desk_password)
            log(f"history: {histories} customers each, interleaved")
            history = History(desk, api, hd)
            hist = measure_history(history, fixture, histories, random.Random(f"peers-{seed}"))
            loadavg.append(round(os.getloadavg()[0], 2))
            log(f"creation: {creates} each, interleaved in rounds of {ROUND}")
            queue_id = int(load["helpdesk"]["queues"]["service"])
            creation = measure_creation(Creator(api, hd, fixture, queue_id), creates)
            loadavg.append(round(os.getloadavg()[0], 2))
        finally:
            for client in (api, desk, hd):
                client.close()
        rss = {
            "loxodon_server": round(ours.peak_rss_mb(), 1),
            "helpdesk_server": round(theirs.peak_rss_mb(), 1),
        }
    finally:
        ours.stop()
        theirs.stop()
    return {
        "tickets": tickets,
        "customers": fixture.scale.customers,
        "customers_with_tickets": len(fixture.tickets_of),
        "followups": fixture.followups,
        "loxodon_events": fixture.case_events + fixture.scale.events,
        "loxodon_background_events": fixture.scale.events,
        "heavy_customers_excluded": fixture.heavy_rowids,
        "load": load,
        "creation": creation,
        "history": hist,
        "shown": {k: _mean_shown(v) for k, v in history.shown.items()},
        "peak_rss_mb": rss,
        "loadavg_1m": {"before_load": load_start, "measure": loadavg},
    }


def _scales(text: str) -> list[int]:
    values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    if not values or min(values) < 100:
        raise argparse.ArgumentTypeError("give ticket counts of at least 100, e.g. 10000,100000")
    return values


def main(argv: list[str] | None = None) -> int:
    global VENV
    p = argparse.ArgumentParser(
        prog="python -m bench.peers.helpdesk", description=__doc__.split("\n")[0]
    )
    p.add_argument("--tickets", type=_scales, default=[10_000, 100_000], help="e.g. 10000,100000")
    p.add_argument("--creates", type=int, default=200, help="timed creations per system")
    p.add_argument("--histories", type=int, default=100, help="timed customers per system")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save-dir", type=Path, help="also write DIR/peers-<tickets>.json")
    p.add_argument("--venv", type=Path, default=VENV, help=f"the peer's virtualenv ({VENV})")
    a = p.parse_args(argv)
    VENV = a.venv.expanduser().resolve()
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(SystemExit(128 + s)))
    started = datetime.now(UTC)
    machine = machine_info()
    try:
        ensure_venv()
        report: dict[str, Any] = {
            "date": started.date().isoformat(),
            "code": code_version(),
            "versions": {"loxodon": our_versions(), "django_helpdesk": peer_versions()},
            "servers": {
                "loxodon": "loxodon serve --workers 1 (uvicorn, ASGI)",
                "helpdesk": "gunicorn --workers 1 --worker-class gthread --threads 1 (WSGI)",
            },
            "database": "sqlite (both: WAL, synchronous=NORMAL)",
            "scales": {},
        }
        for tickets in a.tickets:
            result = run_scale(tickets, a.creates, a.histories, a.seed)
            report["scales"][str(tickets)] = result
            if a.save_dir:
                a.save_dir.mkdir(parents=True, exist_ok=True)
                single = {k: v for k, v in report.items() if k != "scales"}
                single.update(scale=result, machine=machine)
                (a.save_dir / f"peers-{tickets}.json").write_text(json.dumps(single, indent=2))
    except PeerInstallError as exc:
        log(str(exc))
        return 3
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        log(f"failed: {exc}")
        return 1
    machine["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    report["machine"] = machine
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
