"""Harness for browser tests: the real ASGI app under uvicorn in a thread, Debian's Chromium.

Tests using these fixtures are marked `browser`; they need /usr/bin/chromium (installed by
.ci/run from Debian's packages; never `playwright install`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from django.db import connection

from loxodon.core.testing import free_port

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("LOXODON_TEST_ARTIFACTS", "test-artifacts")) / "screens"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LiveServer:
    def __init__(self) -> None:
        from loxodon.asgi import application

        self.port = free_port()
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_desk(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    # Playwright's sync API runs an event loop in the test thread; the test's own ORM calls are
    # still synchronous and safe, so Django's async guard is relaxed for these tests only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    server = LiveServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    # Assertions return as soon as they hold; the long ceiling only matters on a loaded machine.
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def screenshot(page: object, name: str) -> Path:
    """Save a screenshot as a test artifact (look at them: a page that looks broken is a bug)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def in_worker(work: Callable[[], T], timeout: float = 120) -> T:
    """Run ORM writes off Playwright's event-loop thread, as a service or job would.

    Live desk notifications are published on commit through async_to_sync, which cannot run on a
    thread that has an event loop (Playwright's sync API runs one in the test thread)."""
    made: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            made.append(work())
        except BaseException as exc:  # re-raised in the test thread
            failed.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=timeout)
    if failed:
        raise failed[0]
    if not made:
        raise TimeoutError(f"the work did not finish within {timeout} s")
    return made[0]


WIDER_THAN_SCREEN = """() => document.documentElement.scrollWidth <= window.innerWidth ? [] :
  [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map(e => `${e.tagName}.${e.className}`)"""


def no_horizontal_scroll(page: Any) -> bool:
    """Assert that nothing on the page is wider than the screen (names the culprits if so)."""
    wider = page.evaluate(WIDER_THAN_SCREEN)
    assert not wider, f"wider than the screen: {wider}"
    return True


@pytest.fixture
def live_demo(live_desk: LiveServer, settings: Any) -> Iterator[LiveServer]:
    """The live server over a small demo (`seed_demo`, as `make demo` loads it)."""
    from io import StringIO

    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOXODON_PORTAL_MAIL_IN_BACKGROUND = False
    small = ("--customers", "60", "--events", "1500")
    in_worker(lambda: call_command("seed_demo", *small, stdout=StringIO()))
    yield live_desk
