"""Survey links under attack (issue 10, item 8): 1,000 guessed links, reuse after the lock-out
window, and the token kept out of every Referer and every log line, the ASGI server's included.

Already proven in test_surveys.py (not repeated): an expired link is refused (410) and writes
nothing; a used link is refused by the page, the API and the service; guesses over the limit
get 429 with Retry-After, even for a real link, and another address is unaffected; Django's
request log never prints a token; two submits at once make one answer.

Decided and proven here: over `LOXODON_SURVEY_GUESS_RATE` (30 an hour per address) every
survey request from that address is refused with 429, the right link too, which stays unused;
after the hour the right link works once, and a used one stays refused.
"""
# ruff: noqa: F811 (fixtures imported from the browser harness are redefined as arguments)

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from django.core.cache import caches
from django.test import Client
from django_ratelimit import core as ratelimit_core

import loxodon.asgi
from loxodon.core.testing import Api, free_port
from loxodon.customers.models import Customer
from loxodon.customers.services import create_customer
from loxodon.desk.tests.browser import chromium  # noqa: F401 (fixture)
from loxodon.insights.models import SurveyInvitation
from loxodon.insights.services import invite_to_survey
from loxodon.timeline.models import Event

GUESSES = 1_000
ANSWERS = {"satisfaction": "4", "effort": "2", "intent": "yes"}
API_ANSWERS = {"satisfaction": 4, "effort": 2, "intent": "yes"}


@pytest.fixture(autouse=True)
def fresh_guess_counters() -> Iterator[None]:
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


class Later:
    """django-ratelimit's clock moved on (its windows are computed from `time.time()`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        return time.time() + self.seconds


def link_for(customer: Customer) -> tuple[SurveyInvitation, str]:
    invitation = invite_to_survey(customer, "support", channel="portal")
    assert invitation is not None and invitation.token
    return invitation, invitation.token


@pytest.mark.django_db
def test_a_thousand_guessed_links_are_refused_then_limited_and_the_real_one_waits(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    jo = create_customer(name="Jo Bloggs", email="jo@example.com", verified=True)
    invitation, token = link_for(jo)
    attacker = Client(REMOTE_ADDR="203.0.113.99")
    api = Api(None)
    api.client = Client(REMOTE_ADDR="203.0.113.99")
    guesses = [secrets.token_urlsafe(32) for _ in range(GUESSES)]
    statuses: dict[int, int] = {}
    for n, guess in enumerate(guesses):  # page and API alike: one count per address
        if n % 2:
            response = attacker.get(f"/survey/{guess}/")
        else:
            response = api.post(f"/surveys/{guess}/responses", API_ANSWERS)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 429:
            assert int(response["Retry-After"]) > 0
    assert statuses == {404: 30, 429: GUESSES - 30}, statuses

    # The real link from that address: refused while locked, and not used up
    assert attacker.get(f"/survey/{token}/").status_code == 429
    assert attacker.post(f"/survey/{token}/", ANSWERS).status_code == 429
    assert SurveyInvitation.objects.get(pk=invitation.pk).used_at is None
    assert not Event.objects.filter(kind="survey").exists()

    # No token, guessed or real, in any log record
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in [*guesses, token]:
        assert secret not in logged

    # An hour later the address may try again: the real link works once, then stays refused
    monkeypatch.setattr(ratelimit_core, "time", Later(3601))
    assert attacker.get(f"/survey/{token}/").status_code == 200
    assert attacker.post(f"/survey/{token}/", ANSWERS).status_code == 302
    assert Event.objects.filter(kind="survey", customer=jo).count() == 1
    assert attacker.get(f"/survey/{token}/").status_code == 410
    assert attacker.post(f"/survey/{token}/", ANSWERS).status_code == 410
    assert Event.objects.filter(kind="survey", customer=jo).count() == 1


# --- in Chromium, through the real ASGI server with its access log on --------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class LoggingServer:
    """uvicorn serving the app as `loxodon serve` does: uvicorn's own logging set-up, whose
    access log has its own handler (LOGGING's filters never see it), at level info. What that
    handler would print is collected; the loggers are put back afterwards."""

    NAMES = ("uvicorn", "uvicorn.error", "uvicorn.access")

    def __init__(self) -> None:
        self.saved = {
            name: (lg.level, lg.propagate, list(lg.handlers), list(lg.filters))
            for name in self.NAMES
            for lg in [logging.getLogger(name)]
        }
        self.port = free_port()
        config = uvicorn.Config(
            loxodon.asgi.application,
            host="127.0.0.1",
            port=self.port,
            log_level="info",
            access_log=True,
            lifespan="off",
        )
        self.access = Collect()
        self.access.setFormatter(logging.getLogger("uvicorn.access").handlers[0].formatter)
        logging.getLogger("uvicorn.access").addHandler(self.access)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoggingServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        for name, (level, propagate, handlers, filters) in self.saved.items():
            lg = logging.getLogger(name)
            lg.setLevel(level)
            lg.propagate = propagate
            lg.handlers[:] = handlers
            lg.filters[:] = filters


@pytest.fixture
def async_unsafe_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.browser
def test_the_token_reaches_no_referer_and_no_access_log_line(
    async_unsafe_allowed: None,
    transactional_db: None,
    chromium: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    priya = create_customer(name="Priya Shah", email="priya@example.com", verified=True)
    _, token = link_for(priya)
    seen: list[tuple[str, dict[str, str]]] = []
    with LoggingServer() as server:
        page = chromium.new_page()
        page.on("request", lambda r: seen.append((r.url, r.all_headers())))
        try:
            page.goto(f"{server.url}/survey/{token}/")
            page.get_by_role("radiogroup", name="Overall, how satisfied are you?").get_by_text(
                "4", exact=True
            ).click()
            page.get_by_role(
                "radiogroup", name="How much effort did you have to put in?"
            ).get_by_text("2", exact=True).click()
            page.get_by_text("Yes", exact=True).click()
            page.get_by_role("button", name="Send my answers").click()
            page.wait_for_url(f"{server.url}/survey/thanks/")
        finally:
            page.close()

    assert Event.objects.filter(kind="survey", customer=priya).count() == 1  # CSRF passed
    subresources = [(url, h) for url, h in seen if f"/survey/{token}/" not in url]
    assert subresources, "the page loaded nothing else: the Referer check would be vacuous"
    for url, headers in seen:
        assert token not in headers.get("referer", ""), (url, headers.get("referer"))
    access = server.access.lines
    assert any("/survey/[token]/" in line for line in access), access[:5]
    assert not [line for line in access if token in line]
    assert token not in caplog.text
