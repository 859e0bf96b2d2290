"""The knowledge desk in Chromium: a supervisor edits a policy, an agent reads it per channel.

Screenshots of the list, article, edit, history and diff pages at desktop and phone width go to
test-artifacts/screens/kb-*.png.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from loxodon.desk.tests.browser import (  # noqa: F401 (fixtures)
    LiveServer,
    chromium,
    live_desk,
    screenshot,
)
from loxodon.knowledge import services
from loxodon.knowledge.models import Article, Category
from loxodon.knowledge.tests.test_articles_desk import BODY, POLICY
from loxodon.org.models import User
from loxodon.org.services import create_staff

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-pw"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(browser: Browser, server: LiveServer, username: str, width: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(server.url + "/desk/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("body")).to_have_attribute("data-desk-ready", "1")
    return page


def kb_data() -> Article:
    sue = create_staff(
        username="sue", password=PASSWORD, first_name="Sue", last_name="Supervisor",
        role="supervisor",
    )  # fmt: skip
    create_staff(
        username="ann", password=PASSWORD, first_name="Ann", last_name="Agent", role="agent"
    )
    returns = Category.objects.create(name="Returns", slug="returns")
    hardware = Category.objects.create(name="Hardware", slug="hardware")
    policy = services.create_article(
        by=sue, title="Returns policy", body=BODY, audience="public", category=returns,
        tags=["returns", "refunds"], review_by=date(2026, 5, 3), policy=POLICY,
    )  # fmt: skip
    for title, audience, cat in (
        ("Printer drivers for Windows 11", "internal", hardware),
        ("Refurbished laptops: what the customer gets", "public", returns),
        ("Fraud checks on card refunds", "internal", returns),
    ):
        services.create_article(
            by=sue, title=title, audience=audience, category=cat, tags=["hardware"],
            body=f"# {title}\n\nSome guidance with a [link](https://example.com).",
        )  # fmt: skip
    return policy


@pytest.mark.parametrize("width", [1366, 390])
def test_edit_read_compare(live_desk: LiveServer, chromium: Browser, width: int) -> None:  # noqa: F811
    policy = kb_data()
    tag = "desktop" if width > 600 else "phone"
    sue = sign_in(chromium, live_desk, "sue", width)
    sue.goto(live_desk.url + "/desk/kb/")
    expect(sue.locator("[data-article]")).to_have_count(4)
    screenshot(sue, f"kb-list-{tag}")
    sue.get_by_label("Policies only").check()
    expect(sue.locator("[data-article]")).to_have_count(1)
    expect(sue).to_have_url(re.compile(r"/desk/kb/\?.*policies=on"))

    sue.get_by_role("link", name="Returns policy").click()
    expect(sue.locator("#kb-stale")).to_contain_text("Review overdue since 3 May")
    screenshot(sue, f"kb-article-{tag}")
    sue.get_by_role("link", name="Edit").click()
    body = sue.get_by_label("Body")
    body.fill(BODY.replace("30 days", "45 days"))
    sue.get_by_label("Review by").fill("2027-06-30")
    sue.get_by_label("Change note").fill("Window extended to 45 days for the sale")
    screenshot(sue, f"kb-edit-{tag}")
    sue.get_by_role("button", name="Preview").click()
    expect(sue.locator("#kb-preview")).to_contain_text("45 days")
    screenshot(sue, f"kb-preview-{tag}")
    sue.get_by_role("button", name="Save as a new version").click()
    expect(sue.locator("#kb-version")).to_have_text("2")
    expect(sue.locator("#kb-stale")).to_have_count(0)

    sue.get_by_role("link", name="History").click()
    expect(sue.locator("[data-version]")).to_have_count(2)
    screenshot(sue, f"kb-history-{tag}")
    sue.get_by_role("link", name="Compare with previous").click()
    expect(sue.locator("[data-field=body] del").first).to_have_text("30")
    expect(sue.locator("[data-field=body] ins").first).to_have_text("45")
    screenshot(sue, f"kb-diff-{tag}")

    ann = sign_in(chromium, live_desk, "ann", width)
    ann.goto(live_desk.url + f"/desk/kb/{policy.slug}/")
    expect(ann.get_by_role("link", name="Edit")).to_have_count(0)
    ann.get_by_role("link", name="Phone", exact=True).click()
    expect(ann.locator("#kb-body")).to_contain_text("Read the order number back")
    expect(ann.locator("#kb-body")).not_to_contain_text("returns form")
    screenshot(ann, f"kb-article-phone-channel-{tag}")
    assert User.objects.count() == 2
