"""Simulated desk agents for locust (runs in the locust venv, var/load/venv, never in ours).

Each simulated user is one agent with an account of their own (`load-agent-001`, ...). It signs
in through the desk's login form as a browser does (CSRF cookie + form token, Referer, Origin),
then, with think time between actions, opens queues, searches for a customer and opens the hit,
opens customer pages (now and then a heavy customer), opens case pages (with the three knowledge
panels the page loads by htmx), and sometimes adds an internal note through the case page's note
form (with the hidden case version, as the browser posts it).

Only the standard library and locust are imported: gevent's monkey-patching stays in this
process. Inputs come from the environment (set by `python -m bench.load`):

- LOAD_SAMPLE: JSON file with agent usernames, customer/case ids and search terms;
- LOAD_PASSWORD: the agents' password (not on a command line);
- LOAD_USERS, LOAD_STEADY_SECONDS: once this many agents have signed in, keep going for this
  long, then stop (locust's --run-time is only the ceiling);
- LOAD_MAX_REQUESTS: stop the whole run after this many requests (0: no cap);
- LOAD_THINK_MIN / LOAD_THINK_MAX: think time between actions, seconds;
- LOAD_RESULT: where to write the exact latencies and counters when the run ends.

Requests are named by page ("customer", "case", "note: post", ...) so locust and the report
count each page apart. A note refused because the case changed (HTTP 409, or the desk's
"Not done" message) is a correct answer: counted under `refused`, not as a failure.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import re
import time
from collections import defaultdict
from typing import Any
from urllib.parse import quote, urlsplit

import gevent
from locust import between, events
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import Runner

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
NOTE_FORM = re.compile(
    r'<form[^>]*action="(/desk/cases/[0-9a-f-]+/note)"[^>]*data-action="note"[^>]*>(.*?)</form>',
    re.S,
)
VERSION_FIELD = re.compile(r'name="version"\s+value="(\d+)"')
CUSTOMER_LINK = re.compile(r'href="(/desk/customers/[0-9a-f-]{36}/)"')
HTMX_PANEL = re.compile(r'hx-get="(/[^"]+)"\s+hx-trigger="load"')
QUEUES = ("my-cases", "my-tasks", "department", "site")
HTML = "text/html"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _load_sample() -> dict[str, Any]:
    path = os.environ.get("LOAD_SAMPLE")
    if not path:
        raise RuntimeError("LOAD_SAMPLE is not set: run this through `python -m bench.load`")
    with open(path, encoding="utf-8") as f:
        sample: dict[str, Any] = json.load(f)
    return sample


SAMPLE = _load_sample()
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
MAX_REQUESTS = _env_int("LOAD_MAX_REQUESTS", 0)
HEAVY_SHARE = _env_float("LOAD_HEAVY_SHARE", 0.1)
USERS = _env_int("LOAD_USERS", 0)  # the steady state starts once this many have signed in
STEADY_SECONDS = _env_float("LOAD_STEADY_SECONDS", 0)  # then lasts this long (0: until -t)
AGENT_NUMBERS = itertools.count()


class Recorder:
    """Exact latencies per page, counters, and the request cap (locust has none built in)."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        # The same, for requests that completed once every agent had signed in (steady state).
        self.steady: dict[str, list[float]] = defaultdict(list)
        self.steady_failures: dict[str, int] = defaultdict(int)
        self.steady_from: float | None = None
        self.failures: dict[str, int] = defaultdict(int)
        self.failure_examples: dict[str, str] = {}
        self.counters: dict[str, int] = defaultdict(int)
        self.total = 0
        self.stopped_by = "time_limit"  # locust's --run-time, unless something else stops it
        self.started = time.time()
        self.ended: float | None = None
        self.runner: Runner | None = None

    def request(self, name: str, response_time: float, exception: Any) -> None:
        self.total += 1
        self.latencies[name].append(response_time)
        steady = self.steady_from is not None
        if steady:
            self.steady[name].append(response_time)
        if exception is not None:
            self.failures[name] += 1
            self.failure_examples.setdefault(name, str(exception)[:300])
            if steady:
                self.steady_failures[name] += 1
        if MAX_REQUESTS and self.total == MAX_REQUESTS:
            self.stop("max_requests")

    def stop(self, why: str) -> None:
        if self.runner is None or self.stopped_by != "time_limit":
            return
        self.stopped_by = why
        gevent.spawn(self.runner.quit)  # not from inside a user's own greenlet

    def start_steady_state(self) -> None:
        """Every agent is at work: measure the steady state for STEADY_SECONDS, then stop."""
        self.steady_from = time.time()
        if STEADY_SECONDS > 0:
            gevent.spawn_later(STEADY_SECONDS, self.stop, "duration")

    def check_stopped(self) -> None:
        """No new request once the run is stopping (only those in flight still finish)."""
        if self.stopped_by != "time_limit":
            raise StopUser()

    def write(self, path: str) -> None:
        out = {
            "latencies_ms": self.latencies,
            "failures": self.failures,
            "steady_latencies_ms": self.steady,
            "steady_failures": self.steady_failures,
            "steady_from": self.steady_from,
            "failure_examples": self.failure_examples,
            "counters": self.counters,
            "requests": self.total,
            "stopped_by": self.stopped_by,
            "started": self.started,
            "ended": self.ended or time.time(),
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f)


RECORDER = Recorder()


def _refuse_non_loopback(host: str | None) -> None:
    hostname = urlsplit(host or "").hostname or ""
    try:
        loopback = hostname == "localhost" or ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load {host!r}: this load test only targets loopback")


@events.init.add_listener
def on_init(environment: Environment, **kwargs: Any) -> None:
    _refuse_non_loopback(environment.host)
    RECORDER.runner = environment.runner


@events.request.add_listener
def on_request(name: str, response_time: float, exception: Any, **kwargs: Any) -> None:
    RECORDER.request(name, response_time, exception)


@events.test_start.add_listener
def on_test_start(**kwargs: Any) -> None:
    RECORDER.started = time.time()


@events.spawning_complete.add_listener
def on_spawning_complete(user_count: int, **kwargs: Any) -> None:
    if not USERS:
        RECORDER.start_steady_state()


@events.test_stop.add_listener
def on_test_stop(**kwargs: Any) -> None:
    RECORDER.ended = time.time()


@events.quitting.add_listener
def on_quitting(**kwargs: Any) -> None:
    path = os.environ.get("LOAD_RESULT")
    if path:
        RECORDER.write(path)


# How often an agent does each thing (locust picks the next action by these weights);
# LOAD_WEIGHTS="queues=3,search=3,customer=4,case=3,note=1" overrides them.
WEIGHTS = {"queues": 3, "search": 3, "customer": 4, "case": 3, "note": 1}


def _weighted(actions: dict[str, Any]) -> dict[Any, int]:
    weights = dict(WEIGHTS)
    for item in filter(None, os.environ.get("LOAD_WEIGHTS", "").split(",")):
        name, _, value = item.partition("=")
        if name.strip() not in actions:
            raise SystemExit(f"LOAD_WEIGHTS: unknown action {name!r}; use {', '.join(actions)}")
        weights[name.strip()] = int(value)
    return {actions[name]: w for name, w in weights.items() if w > 0}


class DeskAgent(FastHttpUser):
    """One agent at the desk, in one browser session."""

    wait_time = between(_env_float("LOAD_THINK_MIN", 1.0), _env_float("LOAD_THINK_MAX", 5.0))
    # Like a browser: one connection per agent, kept alive; ask for HTML.
    concurrency = 1
    default_headers = {"Accept": "text/html,application/xhtml+xml", "User-Agent": "loxodon-load"}

    def on_start(self) -> None:
        agents: list[str] = SAMPLE["agents"]
        self.username = agents[next(AGENT_NUMBERS) % len(agents)]
        self.rng = random.Random(self.username)
        self.sign_in()

    # --- browser behaviour ---

    def _cookies_for_loopback(self) -> None:
        """With LOXODON_DEBUG=0 the session and CSRF cookies are `Secure`; browsers send them
        to http://127.0.0.1 (loopback is a secure context), the standard cookie policy would
        not: drop the flag on receipt, as bench/desk.py does for httpx."""
        for cookie in self.client.cookiejar:
            cookie.secure = False

    def _origin(self) -> str:
        parts = urlsplit(self.host)
        return f"{parts.scheme}://{parts.netloc}"

    def page(self, path: str, name: str, expect: tuple[str, ...] = ()) -> str | None:
        """GET a whole desk page; anything but a 200 HTML page ending in </html> (and holding
        one of `expect`, if given) fails. A signed-out agent lands on the sign-in form."""
        RECORDER.check_stopped()
        with self.client.get(path, name=name, catch_response=True) as r:
            self._cookies_for_loopback()
            text = r.text or ""
            content_type = r.headers.get("content-type", "") if r.headers else ""
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code} for {path}")
                return None
            if not content_type.startswith(HTML) or "</html>" not in text:
                r.failure(f"not a whole HTML page: {path} {content_type!r}")
                return None
            if 'id="id_password"' in text:
                r.failure(f"signed out: {path} shows the sign-in form")
                return None
            if expect and not any(e in text for e in expect):
                r.failure(f"{path} shows none of {expect}")
                return None
            r.success()
            return text

    def fragment(self, path: str, name: str, referer: str) -> None:
        """An htmx request the page makes on load (HX-Request: true, a partial back)."""
        headers = {"HX-Request": "true", "HX-Current-URL": self._origin() + referer}
        RECORDER.check_stopped()
        with self.client.get(path, name=name, headers=headers, catch_response=True) as r:
            self._cookies_for_loopback()
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code} for {path}")
            else:
                r.success()

    def sign_in(self) -> None:
        RECORDER.check_stopped()
        with self.client.get("/desk/login/", name="sign in: form", catch_response=True) as r:
            self._cookies_for_loopback()
            found = CSRF_FIELD.search(r.text or "")
            if r.status_code != 200 or found is None:
                r.failure(f"sign-in form: HTTP {r.status_code}, token found: {bool(found)}")
                self._give_up("no sign-in form")
                return
            r.success()
        origin = self._origin()
        RECORDER.check_stopped()
        form = {
            "username": self.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": found.group(1),
            "next": "",
        }
        with self.client.post(
            "/desk/login/",
            data=_urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": origin + "/desk/login/",
                "Origin": origin,
            },
            name="sign in: post",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            self._cookies_for_loopback()
            location = urlsplit(r.headers.get("location", "") if r.headers else "").path
            if r.status_code != 302 or location != "/desk/":
                r.failure(f"sign-in refused: HTTP {r.status_code} to {location!r}")
                self._give_up("sign-in refused")
                return
            r.success()
        RECORDER.counters["signed_in"] += 1
        if USERS and RECORDER.counters["signed_in"] == USERS:
            RECORDER.start_steady_state()
        self.page("/desk/", "queues")  # where the redirect lands

    def _give_up(self, why: str) -> None:
        """An agent who cannot sign in stops (its failure is already counted)."""
        RECORDER.counters["agents_given_up"] += 1
        self.stop()

    # --- what an agent does ---

    def queues(self) -> None:
        queue = self.rng.choice(QUEUES)
        self.page(f"/desk/?queue={queue}", "queues")

    def search_and_open(self) -> None:
        term = self.rng.choice(SAMPLE["search_terms"])
        text = self.page(f"/desk/search?q={quote(term)}", "search")
        if text is None:
            return
        hits = CUSTOMER_LINK.findall(text)
        if hits:
            self.page(hits[0], "customer")
        else:
            RECORDER.counters["search_without_customer"] += 1

    def customer(self) -> None:
        if SAMPLE["heavy_customers"] and self.rng.random() < HEAVY_SHARE:
            customer = self.rng.choice(SAMPLE["heavy_customers"])
            self.page(f"/desk/customers/{customer}/", "customer (heavy)")
        else:
            customer = self.rng.choice(SAMPLE["customers"])
            self.page(f"/desk/customers/{customer}/", "customer")

    def open_case(self, case: str) -> str | None:
        path = f"/desk/cases/{case}/"
        text = self.page(path, "case")
        if text is not None:
            for panel in HTMX_PANEL.findall(text):
                self.fragment(panel, "case: knowledge panel (htmx)", path)
        return text

    def case(self) -> None:
        self.open_case(self.rng.choice(SAMPLE["cases"]))

    def add_note(self) -> None:
        case = self.rng.choice(SAMPLE["open_cases"])
        text = self.open_case(case)
        if text is None:
            return
        form = NOTE_FORM.search(text)
        token = CSRF_FIELD.search(form.group(2)) if form else None
        version = VERSION_FIELD.search(form.group(2)) if form else None
        if form is None or token is None:
            RECORDER.counters["note_form_missing"] += 1
            return
        fields = {
            "csrfmiddlewaretoken": token.group(1),
            "version": version.group(1) if version else "",
            "body": f"Called the customer back; {self.username} checked the order status.",
        }
        origin = self._origin()
        case_path = f"/desk/cases/{case}/"
        RECORDER.check_stopped()
        with self.client.post(
            form.group(1),
            data=_urlencode(fields),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": origin + case_path,
                "Origin": origin,
            },
            name="note: post",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            self._cookies_for_loopback()
            if r.status_code == 409:
                RECORDER.counters["notes_refused_409"] += 1
                r.success()
                return
            location = urlsplit(r.headers.get("location", "") if r.headers else "").path
            if r.status_code != 302 or location != case_path:
                r.failure(f"note: HTTP {r.status_code} to {location!r}")
                return
            r.success()
        # The browser follows the redirect: the case page, with the outcome as a message.
        after = self.page(case_path, "case (after note)", expect=("Note added.", "Not done"))
        if after is None:
            return
        if "Note added." in after:
            RECORDER.counters["notes_added"] += 1
        else:
            RECORDER.counters["notes_refused"] += 1

    tasks = _weighted(
        {
            "queues": queues,
            "search": search_and_open,
            "customer": customer,
            "case": case,
            "note": add_note,
        }
    )


def _urlencode(fields: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items())
