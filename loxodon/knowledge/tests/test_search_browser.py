# ruff: noqa: F811 (pytest fixtures imported from desk.tests.browser are redefined as arguments)
"""Knowledge search in Chromium: live results as the agent types, "Did you mean", the case
page's suggested articles. Screenshots: test-artifacts/screens/kb-search-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from loxodon.cases.services import open_case
from loxodon.customers.services import create_customer
from loxodon.desk.tests.browser import (  # noqa: F401 (fixtures)
    LiveServer,
    chromium,
    live_desk,
    screenshot,
)
from loxodon.knowledge import services
from loxodon.knowledge.models import Category
from loxodon.knowledge.search import rebuild_index
from loxodon.org.services import create_staff

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-pw"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(browser: Browser, server: LiveServer, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(server.url + "/desk/login/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("body")).to_have_attribute("data-desk-ready", "1")
    return page


def data() -> str:
    rebuild_index()  # the live server's tests flush Django's tables, not the index's
    sue = create_staff(username="sue", password=PASSWORD, role="supervisor", first_name="Sue")
    ann = create_staff(username="ann", password=PASSWORD, role="agent", first_name="Ann")
    hardware = Category.objects.create(name="Hardware", slug="hardware")
    for title, body, audience in (
        (
            "Refurbished laptops: warranty",
            "A refurbished laptop has a **90 day** warranty "
            "covering parts and labour. Extensions need a supervisor.",
            "public",
        ),
        (
            "Laptop will not charge",
            "Check the charger light, try another socket, then hold "
            "the power button for 30 seconds. If the battery still does not charge, book a "
            "repair.",
            "public",
        ),
        (
            "Warranty claims from business accounts",
            "Business customers claim through their "
            "account manager; the warranty terms are in the contract.",
            "internal",
        ),
    ):
        services.create_article(
            by=sue, title=title, body=body, audience=audience, category=hardware,
            tags=["laptops"],
        )  # fmt: skip
    customer = create_customer(name="Jo Bloggs", email="jo@example.com")
    case = open_case(
        customer=customer,
        problem="Jo's refurbished laptop stopped charging after two weeks; the light blinks",
        actor=ann,
        owner=ann,
    )
    return str(case.pk)


@pytest.mark.parametrize("width", [1280, 390])
def test_live_search_and_case_suggestions(
    live_desk: LiveServer, chromium: Browser, width: int
) -> None:
    case_id = data()
    page = sign_in(chromium, live_desk, width)
    page.goto(live_desk.url + "/desk/kb/search")
    expect(page.get_by_text("Type a few words")).to_be_visible()
    page.get_by_label("Words to look for").press_sequentially("refurbsihed warranty", delay=20)
    results = page.locator("#kb-search-results")
    expect(results.get_by_text("Showing results for")).to_be_visible()
    expect(results.get_by_role("link", name="Refurbished laptops: warranty")).to_be_visible()
    expect(results.locator("mark").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=refurbsihed"))
    screenshot(page, f"kb-search-results-{width}")
    page.get_by_label("Words to look for").fill("xylophone")
    expect(results.get_by_text("No article matches")).to_be_visible()
    screenshot(page, f"kb-search-empty-{width}")
    page.goto(f"{live_desk.url}/desk/cases/{case_id}/")
    panel = page.locator("#kb-suggestions")
    expect(panel.get_by_role("link", name="Laptop will not charge")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, f"kb-search-case-{width}")
