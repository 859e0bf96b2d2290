"""My picture in Chromium at phone and desktop width: every page, the collapsible navigation,
pinning, a label added with HTMX, a message sent with the keyboard; screenshots of each page."""
# ruff: noqa: F811 (pytest fixtures imported from other modules are redefined as arguments)

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Browser, Page, expect

from loxodon.cases.models import Case
from loxodon.desk.tests.browser import LiveServer, chromium, live_desk, screenshot  # noqa: F401
from loxodon.org.models import Department, User
from loxodon.portal.access import SESSION_KEY
from loxodon.portal.models import Label, Pin
from loxodon.portal.tests.picture_fixtures import Person, make_person
from loxodon.portal.tests.test_picture_pages import MARKER, picture
from loxodon.timeline.models import Event

pytestmark = pytest.mark.browser


def open_as(browser: Browser, server: LiveServer, person: Person, width: int) -> Page:
    session = SessionStore()
    session[SESSION_KEY] = str(person.login.pk)
    session.create()
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key or "",
                "url": server.url,
            }
        ]
    )
    return context.new_page()


@pytest.mark.parametrize("width", [390, 1366])
def test_my_picture_in_the_browser(
    live_desk: LiveServer,
    chromium: Any,
    agent: User,
    departments: dict[str, Department],
    width: int,
) -> None:
    alice = make_person("Alice Adams", "alice@example.com")
    case = picture(alice, agent, departments)
    page = open_as(chromium, live_desk, alice, width)
    tag = "phone" if width < 500 else "desktop"
    pages = {
        "home": "/portal/",
        "timeline": "/portal/timeline/",
        "cases": "/portal/cases/",
        "case": f"/portal/cases/{case.pk}/",
        "case-new": "/portal/cases/new",
        "orders": "/portal/orders/",
        "products": "/portal/products/",
        "conversations": "/portal/conversations/",
        "chat": "/portal/chat/",
    }
    for name, url in pages.items():
        page.goto(live_desk.url + url)
        expect(page.locator("h1")).to_be_visible()
        assert MARKER not in page.content()
        # nothing wider than the screen
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (name, overflow)
        screenshot(page, f"portal-picture-{name}-{tag}")

    # the navigation: collapsed behind a labelled button on a phone, all there on a desktop
    page.goto(live_desk.url + "/portal/")
    toggler = page.get_by_role("button", name="Show the menu")
    if width < 500:
        expect(page.get_by_role("link", name="Timeline", exact=True)).to_be_hidden()
        toggler.click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        page.wait_for_timeout(400)  # the collapse animation
        screenshot(page, f"portal-picture-nav-open-{tag}")
    expect(page.get_by_role("link", name="Timeline", exact=True)).to_be_visible()
    page.get_by_role("link", name="Cases", exact=True).click()
    expect(page).to_have_url(live_desk.url + "/portal/cases/")

    # pin the case from its page
    page.goto(live_desk.url + f"/portal/cases/{case.pk}/")
    page.get_by_role("button", name="Pin to the top").click()
    expect(page.get_by_role("button", name="Unpin")).to_be_visible()
    assert Pin.objects.filter(customer=alice.customer, case=case).exists()

    # a label on the case, added in place (HTMX), then its remove button is there
    page.locator(f"#labels-case-{case.pk} summary").click()
    field = page.get_by_label("New label").first
    field.fill("laptop")
    field.press("Enter")
    expect(page.get_by_role("button", name="Remove label laptop")).to_be_visible()
    assert Label.objects.filter(customer=alice.customer, name="laptop").exists()

    # "still not fixed" with the keyboard only
    box = page.get_by_label("Still not fixed? Tell us what is wrong")
    box.focus()
    page.keyboard.type("It still dies after ten minutes")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("We've reopened your case")).to_be_visible()
    screenshot(page, f"portal-picture-case-reopened-{tag}")
    assert Case.objects.get(pk=case.pk).status == "open"

    # a message through the form
    page.get_by_label("Your message").fill("Battery photo to follow")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your message is on its way to us.")).to_be_visible()
    assert Event.objects.filter(case=case, channel="web", body="Battery photo to follow").exists()
    screenshot(page, f"portal-picture-case-sent-{tag}")


def test_web_chat_from_the_portal_is_mine(
    live_desk: LiveServer, chromium: Any, agent: User
) -> None:
    from loxodon.channels.chat.models import Chat

    alice = make_person("Alice Adams", "alice@example.com")
    page = open_as(chromium, live_desk, alice, 390)
    page.goto(live_desk.url + "/portal/chat/")
    page.get_by_role("button", name="Chat with us").click()
    box = page.get_by_role("textbox", name="Your message")
    expect(box).to_be_focused()
    box.fill("Where is my order?")
    box.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Waiting for an agent")
    screenshot(page, "portal-picture-chat-open-phone")
    chat = Chat.objects.get()
    assert chat.customer_id == alice.customer.pk and chat.visitor_verified
    page.goto(live_desk.url + "/portal/conversations/")
    expect(page.get_by_text("About: Where is my order?")).to_be_visible()
