"""The widget on a company page and the desk's chat page, both in Chromium, talking live."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from loxodon.channels.chat.models import Chat
from loxodon.channels.web.models import WebProperty
from loxodon.desk.tests.browser import LiveServer, chromium, live_desk, screenshot  # noqa: F401
from loxodon.org.models import Department, Site
from loxodon.org.services import create_staff

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-pw"


def shop_page(server: LiveServer, key: str) -> str:
    """A page of the company's own site (another origin) with the widget embedded."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Example Shop</title>
<style>body {{ font-family: Georgia, serif; margin: 3rem; background: #faf7f0; }}
button {{ background: hotpink; }}</style></head>
<body><h1>Example Shop</h1><p>Refurbished laptops, spare parts and repairs.</p>
<script src="{server.url}/static/loxodon-chat/widget.js" data-key="{key}" async></script>
</body></html>"""


class ShopServer:
    """The company's own web site: another origin (another port) serving one page."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def shop(live_desk: LiveServer, site: Site) -> Iterator[tuple[WebProperty, ShopServer]]:  # noqa: F811
    prop = WebProperty.objects.create(name="Shop", site=site)
    server = ShopServer(shop_page(live_desk, prop.public_key))
    prop.allowed_origins = server.url
    prop.save(update_fields=["allowed_origins"])
    yield prop, server
    server.stop()


def sign_in(browser: Browser, server: LiveServer) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(server.url + "/desk/login/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good to see you")
    return page


def test_a_visitor_and_an_agent_chat_live(
    live_desk: LiveServer,  # noqa: F811
    chromium: Browser,  # noqa: F811
    shop: tuple[WebProperty, ShopServer],
    site: Site,
    departments: dict[str, Department],
    settings: Any,
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    create_staff(
        username="ann",
        password=PASSWORD,
        first_name="Ann",
        last_name="Agent",
        role="agent",
        site=site,
        department=departments["sales-business"],
    )
    _, shop_site = shop

    # The visitor opens the chat on the shop's page (another origin) and writes
    visitor = chromium.new_context(viewport={"width": 1100, "height": 800}).new_page()
    visitor.goto(shop_site.url + "/")
    visitor.get_by_role("button", name="Chat with us").click()
    box = visitor.get_by_role("textbox", name="Your message")
    expect(box).to_be_focused()
    log = visitor.get_by_role("log", name="Messages")
    expect(visitor.get_by_role("status")).to_contain_text("Ask us anything")
    box.fill("Hello! Is the X1 Carbon still in stock?")
    box.press("Enter")
    expect(log).to_contain_text("Hello! Is the X1 Carbon still in stock?")
    expect(log).not_to_contain_text("Sending…")
    expect(visitor.get_by_role("status")).to_contain_text("Waiting for an agent")

    # The agent sees it in the desk's chat list and opens it
    agent = sign_in(chromium, live_desk)
    agent.goto(live_desk.url + "/desk/chats/")
    link = agent.get_by_role("link", name=re.compile(r"^Web visitor"))
    expect(link).to_be_visible()
    screenshot(agent, "chat-desk-list")
    link.click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Chat with Web visitor")
    expect(agent.locator("#chat-transcript")).to_contain_text("Is the X1 Carbon still in stock?")
    expect(agent.locator("body")).to_have_attribute("data-chat-live", "connected")

    # ... and answers; the visitor sees the answer
    reply = agent.get_by_label(re.compile(r"^Your reply"))
    reply.fill("Hi, I'm Ann. Yes, we have four left.")
    agent.get_by_role("button", name="Send").click()
    expect(log).to_contain_text("Yes, we have four left.")
    expect(log).to_contain_text("Ann")
    expect(visitor.get_by_role("status")).to_contain_text("You are chatting with Ann")
    expect(agent.locator("#chat-status")).to_have_text("Active")

    # The visitor answers; the agent's page shows it without a reload
    box.fill("Great, I'll order one today.")
    box.press("Enter")
    expect(agent.locator("#chat-transcript")).to_contain_text("I'll order one today.")
    screenshot(visitor, "chat-widget")
    screenshot(agent, "chat-desk-page")

    # After a reload the visitor sees the conversation so far
    visitor.reload()
    expect(visitor.get_by_role("log", name="Messages")).to_contain_text("Yes, we have four left.")
    expect(visitor.get_by_role("log", name="Messages")).to_contain_text("order one today")

    # The agent ends the chat; the visitor is told
    agent.get_by_role("button", name="End chat").click()
    expect(agent.locator(".alert-success")).to_contain_text("Chat ended")
    expect(visitor.get_by_role("status")).to_contain_text("This chat has ended")
    chat = Chat.objects.get()
    assert chat.status == "ended" and chat.message_count == 3

    # The customer's timeline holds the whole chat as one entry, with its transcript
    agent.get_by_role("link", name="Open the 360 view").click()
    entry = agent.locator(f"#event-{chat.event_id}")
    expect(entry).to_contain_text("Chat with Ann · 3 messages")
    entry.locator("summary").click()
    expect(entry.locator(".chat-event-transcript")).to_contain_text("Ann: Hi, I'm Ann.")
    screenshot(agent, "chat-on-timeline")
