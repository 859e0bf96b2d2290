"""The agent desk's server-rendered pages, timed over HTTP like a browser uses them.

A bench staff user gets a password through Django (`loxodon shell`), the bench signs in with
the real login form (CSRF cookie and token, session cookie), then times full-page GETs of the
customer page and the case page on one keep-alive connection.
"""

from __future__ import annotations

import random
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.config import BenchConfig, bench_env, loxodon_command
from bench.fixture import Fixture, SqliteFixture
from bench.loader import log
from bench.measure import summarise

LOGIN_PATH = "/desk/login/"
HOME_PATH = "/desk/"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
DESK_WARM = 20  # warm-up requests per page, on customers and cases that are not timed

# Runs inside `loxodon shell -c`: the password never appears on a command line.
SHELL_SET_LOGIN = """
import os
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username=os.environ["BENCH_DESK_USER"])
user.set_password(os.environ["BENCH_DESK_PASSWORD"])
user.save(update_fields=["password"])
"""


def set_desk_password(config: BenchConfig, username: str) -> str:
    """Give `username` a fresh random password (hashed by Django) and return it."""
    password = secrets.token_urlsafe(24)
    env = bench_env(config, BENCH_DESK_USER=username, BENCH_DESK_PASSWORD=password)
    subprocess.run(
        [*loxodon_command(), "shell", "-v", "0", "-c", SHELL_SET_LOGIN],
        env=env,
        check=True,
        stdout=sys.stderr,
    )
    return password


@dataclass(frozen=True)
class DeskSample:
    """Desk pages to request: warm-up ids apart from the timed ones (dashed UUIDs)."""

    warm_customers: list[str]
    customers: list[str]
    heavy_customers: list[str]
    warm_cases: list[str]
    cases: list[str]
    heavy_cases: list[str]


def _dashed(hex_id: str) -> str:
    return str(uuid.UUID(hex_id))


def sample_desk(
    source: Path | Fixture,
    heavy_rowids: Sequence[int],
    exclude: Sequence[str],
    requests: int,
    heavy_requests: int,
    rng: random.Random,
) -> DeskSample:
    """Random typical customers and cases (their customers not in `exclude`, i.e. not touched
    by the earlier measurements, unless a tiny fixture has too few others), and requests
    spread over the heavy customers and their cases.
    """
    fixture = SqliteFixture(source) if isinstance(source, Path) else source
    excluded = {uuid.UUID(c).hex for c in exclude}
    heavy = set(heavy_rowids)
    customers = fixture.customers()
    cases = fixture.cases()
    typical_customers = _untouched([(c, c) for r, c in customers if r not in heavy], excluded)
    heavy_customers = [cid for rowid, cid in customers if rowid in heavy]
    typical_cases = _untouched([(case, c) for case, r, c in cases if r not in heavy], excluded)
    heavy_cases = [case for case, rowid, _ in cases if rowid in heavy]
    if not typical_customers or not typical_cases or not heavy_cases:
        raise RuntimeError(
            f"{fixture.location()} has too few customers or cases for the desk pages"
        )
    picked_customers = _pick(typical_customers, DESK_WARM + requests, rng)
    picked_cases = _pick(typical_cases, DESK_WARM + requests, rng)
    return DeskSample(
        warm_customers=[_dashed(c) for c in picked_customers[:DESK_WARM]],
        customers=[_dashed(c) for c in picked_customers[DESK_WARM:]],
        heavy_customers=[_dashed(c) for c in rng.choices(heavy_customers, k=heavy_requests)],
        warm_cases=[_dashed(c) for c in picked_cases[:DESK_WARM]],
        cases=[_dashed(c) for c in picked_cases[DESK_WARM:]],
        heavy_cases=[_dashed(c) for c in rng.choices(heavy_cases, k=heavy_requests)],
    )


def _untouched(items: list[tuple[str, str]], excluded: set[str]) -> list[str]:
    """Ids of (id, customer id) pairs whose customer is not excluded; all ids if that leaves
    too few for a warm-up and one timed request."""
    kept = [item for item, customer in items if customer not in excluded]
    return kept if len(kept) > DESK_WARM else [item for item, _ in items]


def _pick(population: list[str], k: int, rng: random.Random) -> list[str]:
    """k distinct items if there are enough, else k with repeats (warm-up ones first)."""
    if len(population) >= k:
        return rng.sample(population, k)
    return rng.choices(population, k=k)


def desk_client(base_url: str) -> httpx.Client:
    """A separate client with its own cookies and connection (no API token).

    The server runs with LOXODON_DEBUG=0, so its session and CSRF cookies are `Secure`.
    Browsers treat loopback as a secure context and send them back over http://127.0.0.1;
    httpx (the standard library's cookie policy) would not, so the flag is dropped on receipt.
    """
    client = httpx.Client(
        base_url=base_url,
        headers={"Accept": "text/html,application/xhtml+xml", "User-Agent": "loxodon-bench"},
        timeout=120.0,
    )

    def loopback_is_secure(response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            cookie.secure = False

    client.event_hooks["response"].append(loopback_is_secure)
    return client


def sign_in(client: httpx.Client, username: str, password: str) -> None:
    """The sign-in form, as a browser submits it; fails loudly unless a session results."""
    form = client.get(LOGIN_PATH)
    if form.status_code != 200:
        raise RuntimeError(f"desk sign-in form: HTTP {form.status_code} {form.text[:300]}")
    found = CSRF_FIELD.search(form.text)
    if client.cookies.get("csrftoken") is None or found is None:
        raise RuntimeError("desk sign-in form: no csrftoken cookie or csrfmiddlewaretoken field")
    login_url = f"{client.base_url.scheme}://{client.base_url.netloc.decode()}{LOGIN_PATH}"
    done = client.post(
        LOGIN_PATH,
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": found.group(1),
            "next": "",
        },
        headers={"Referer": login_url},
    )
    location = urlsplit(done.headers.get("location", "")).path
    if done.status_code != 302 or location != HOME_PATH:
        raise RuntimeError(
            f"desk sign-in failed: HTTP {done.status_code} to {location!r} {done.text[:300]}"
        )
    if client.cookies.get("sessionid") is None:
        raise RuntimeError("desk sign-in: the server set no sessionid cookie")


def _get_page(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    r = client.get(path)
    elapsed = time.perf_counter() - started
    content_type = r.headers.get("content-type", "")
    if r.status_code != 200 or not content_type.startswith("text/html") or "</html>" not in r.text:
        where = r.headers.get("location", "")
        raise RuntimeError(
            f"desk page {path}: HTTP {r.status_code} {content_type!r} {where} {r.text[:300]}"
        )
    return elapsed


def page_latencies(client: httpx.Client, paths: Sequence[str]) -> list[float]:
    """One sequential full-page GET per path, in the order given."""
    return [_get_page(client, path) for path in paths]


def _customer_paths(ids: Sequence[str]) -> list[str]:
    return [f"/desk/customers/{i}/" for i in ids]


def _case_paths(ids: Sequence[str]) -> list[str]:
    return [f"/desk/cases/{i}/" for i in ids]


def measure_desk(
    base_url: str, username: str, password: str, sample: DeskSample
) -> dict[str, dict[str, Any]]:
    """Sign in, warm up on other customers and cases, then time each page kind separately."""
    with desk_client(base_url) as client:
        sign_in(client, username, password)
        log(f"desk: signed in as {username}; warm-up with {DESK_WARM} requests per page")
        page_latencies(client, _customer_paths(sample.warm_customers))
        page_latencies(client, _case_paths(sample.warm_cases))
        log(
            f"desk: customer and case pages, {len(sample.customers)} typical and "
            f"{len(sample.heavy_customers)} heavy-customer requests each"
        )
        return {
            "desk_customer_typical": summarise(
                page_latencies(client, _customer_paths(sample.customers))
            ),
            "desk_customer_heavy": summarise(
                page_latencies(client, _customer_paths(sample.heavy_customers))
            ),
            "desk_case_typical": summarise(page_latencies(client, _case_paths(sample.cases))),
            "desk_case_heavy": summarise(page_latencies(client, _case_paths(sample.heavy_cases))),
        }
