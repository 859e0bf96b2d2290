# ruff: noqa: F811 (pytest fixtures imported from auth_fixtures are redefined as arguments)
"""Signing in to the portal in Chromium: link by email (real SMTP), the fragment read by the
page's JS, the account page at phone and desktop width. The token must appear in no request
URL, no header (Referer) and no access-log line of the real ASGI server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Request, expect

from loxodon.core.testing import free_port
from loxodon.customers.services import create_customer
from loxodon.desk.tests.browser import chromium, screenshot  # noqa: F401
from loxodon.portal.auth import create_portal_login
from loxodon.portal.tests.auth_fixtures import (  # noqa: F401 (fixtures)
    Mailbox,
    fresh_rate_limits,
    smtp,
)

pytestmark = pytest.mark.browser


class LoggingServer:
    """The real ASGI app under uvicorn with its access log on (records go to Python logging)."""

    def __init__(self) -> None:
        from loxodon.asgi import application

        self.port = free_port()
        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=self.port,
            log_level="info",
            access_log=True,
            log_config=None,
            lifespan="off",
        )
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


@pytest.fixture
def server(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, smtp: Mailbox
) -> Iterator[LoggingServer]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with LoggingServer() as live:
        yield live


def test_sign_in_by_link_and_correct_my_phone(
    server: LoggingServer,
    chromium: Browser,
    smtp: Mailbox,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = create_customer(
        name="Alice Able", email="alice@example.com", phone="+44 20 7946 0001", verified=True
    )
    create_portal_login(customer=alice, email="alice@example.com")
    settings.LOXODON_PUBLIC_URL = server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    page = context.new_page()

    page.goto(f"{server.url}/portal/sign-in/?next=/portal/account/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    screenshot(page, "portal-sign-in-phone")
    link_form = page.locator("form", has=page.locator("input[name=method][value=link]"))
    link_form.get_by_label("Email address").fill("alice@example.com")
    link_form.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check your inbox")
    screenshot(page, "portal-sign-in-sent-phone")

    token = smtp.token_for("alice@example.com")
    url = f"{server.url}/portal/sign-in/link#{token}"
    assert url in smtp.body(smtp.to("alice@example.com")[0]).split()
    page.goto(url)  # what clicking the link in the email does
    expect(page.get_by_role("heading", level=1)).to_have_text("My details")
    assert page.url == f"{server.url}/portal/account/"
    screenshot(page, "portal-account-phone")

    # correct my phone number with the keyboard only
    page.get_by_role("button", name="Phone number").click()
    field = page.get_by_label("Phone number")
    field.fill("07700 900123")
    field.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your phone number is updated")
    expect(page.locator("dd").nth(2)).to_have_text("+447700900123")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Address", exact=True).click()
    expect(page.get_by_label("Street and number")).to_be_visible()
    expect(page.locator(".collapsing")).to_have_count(0)  # the accordion has finished opening
    screenshot(page, "portal-account-desktop")

    # the code page (no JS fragment: a customer pasting the code)
    other = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
    other.goto(f"{server.url}/portal/sign-in/link")
    other.get_by_label("Sign-in code from the email").fill("not-a-real-code-" * 3)
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("alert")).to_contain_text("did not work")
    screenshot(other, "portal-code-entry-phone")
    other.set_viewport_size({"width": 1280, "height": 900})
    screenshot(other, "portal-code-entry-desktop")
    other.goto(f"{server.url}/portal/sign-in/sent")
    screenshot(other, "portal-sign-in-sent-desktop")
    other.goto(f"{server.url}/portal/sign-in/")
    screenshot(other, "portal-sign-in-desktop")

    # the token went nowhere but into the POST body
    for request in requests:
        assert token not in request.url.split("#")[0], request.url
        for name, value in request.all_headers().items():
            assert token not in value, f"token in {name} of {request.url}"
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/portal/sign-in/link" in line for line in access), access[:5]
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert token not in logged
    context.close()
