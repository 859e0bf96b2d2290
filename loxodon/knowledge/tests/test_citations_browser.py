"""Citing an article from a case page in Chromium, the report, and the portal page the customer
is sent to (screenshots at desktop and phone width)."""
# ruff: noqa: F811 (the browser fixtures are imported, then named as arguments)

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from loxodon.cases.services import open_case
from loxodon.customers.services import create_customer
from loxodon.desk.tests.browser import (  # noqa: F401 (fixtures)
    LiveServer,
    chromium,
    in_worker,
    live_desk,
    no_horizontal_scroll,
    screenshot,
)
from loxodon.desk.tests.test_browser import PASSWORD, ready, sign_in
from loxodon.knowledge import services
from loxodon.knowledge.models import Category, Citation
from loxodon.knowledge.tests.citations_fixtures import RETURNS_BODY
from loxodon.org.models import Site
from loxodon.org.services import create_staff

pytestmark = pytest.mark.browser

REVISED_BODY = """Bring it back within **45 days** with the receipt, in its original box if you can.

| Bought | Return by |
| --- | --- |
| In store | any store, 45 days |
| Online | free courier, 45 days |

:::web
Start a return from *My orders*: choose the item, then **Return it**.
:::

:::phone
Read the order number back to the customer.
:::
"""

MORE_ARTICLES = [
    ("Refurbished laptop warranty", "Refurbished laptops have a **90 day** warranty.", "warranty"),
    ("Repairs in store", "Bring the device to any store; most repairs take a day.", "warranty"),
    ("Refunds to a gift card", "Refunds go back to the card you paid with.", "returns"),
]


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_agent_cites_an_article_and_the_supervisor_sees_the_report(
    live_desk: LiveServer, chromium: Browser, site: Site
) -> None:
    def setup() -> Any:
        sue = create_staff(username="sue", password=PASSWORD, role="supervisor", site=site,
                           first_name="Sue", last_name="Supervisor")  # fmt: skip
        ann = create_staff(username="ann", password=PASSWORD, role="agent", site=site,
                           first_name="Ann", last_name="Agent")  # fmt: skip
        returns = Category.objects.create(name="Returns and refunds", slug="returns")
        warranty = Category.objects.create(name="Warranty and repairs", slug="warranty")
        article = services.create_article(
            by=sue, title="Returns policy", body=RETURNS_BODY, audience="public",
            slug="returns-policy", category=returns,
        )  # fmt: skip
        categories = {"returns": returns, "warranty": warranty}
        for title, body, cat in MORE_ARTICLES:
            services.create_article(
                by=sue, title=title, body=body, audience="public", category=categories[cat]
            )
        services.create_article(
            by=sue, title="Fraud checks", body="Staff only.", audience="internal"
        )
        from loxodon.knowledge.search import rebuild_index

        rebuild_index()
        jo = create_customer(name="Jo Bloggs", email="jo@example.com", site=site, verified=True)
        case = open_case(customer=jo, problem="Wants to return a laptop", actor=ann, owner=ann)
        return article, case

    article, case = in_worker(setup)

    page = sign_in(chromium, live_desk, "ann")
    page.goto(f"{live_desk.url}/desk/cases/{case.pk}/")
    ready(page)
    panel = page.locator("#kb-cite")
    expect(panel).to_contain_text("Give the customer an article")
    expect(panel).to_contain_text("No article has been given to the customer on this case yet")
    panel.get_by_label("Find a public article").fill("returns")
    choice = panel.get_by_label("Returns policy")
    expect(panel.locator("#kb-cite-picker mark").first).to_be_visible()  # the search's answer
    expect(choice).to_be_visible()
    expect(panel).not_to_contain_text("Fraud checks")
    choice.check()
    panel.get_by_label("Given by").select_option("phone")
    panel.get_by_label("Note").fill("Read the 30 days out")
    panel.scroll_into_view_if_needed()
    screenshot(page, "kb-cite-panel-before")
    panel.get_by_role("button", name="Record as given").click()
    expect(page.locator("#kb-cite")).to_contain_text(
        'Recorded: "Returns policy" (v1) given on the phone.'
    )
    expect(page.locator("#kb-cite")).to_contain_text("Read the 30 days out")
    page.locator("#kb-cite").scroll_into_view_if_needed()
    screenshot(page, "kb-cite-panel-after")
    assert Citation.objects.get().version.number == 1

    # The article changes; the case still shows what was said, flagged as superseded.
    in_worker(lambda: services.revise_article(
        article=article, by=article.owner, change_note="45 days", body=REVISED_BODY
    ))  # fmt: skip
    page.reload()
    panel = page.locator("#kb-cite")
    expect(panel).to_contain_text("a newer version exists (v2)")
    panel.get_by_label("Find a public article").fill("returns")
    panel.get_by_label("Returns policy").check()
    panel.get_by_label("Given by").select_option("email")
    panel.get_by_role("button", name="Record as given").click()
    expect(page.locator("#kb-cite")).to_contain_text("and queued to the customer by email")
    assert sorted(Citation.objects.values_list("version__number", "channel")) == [
        (1, "phone"),
        (2, "email"),
    ]

    sue = sign_in(chromium, live_desk, "sue")
    sue.goto(f"{live_desk.url}/desk/kb/citations/")
    expect(sue.get_by_role("heading", level=1)).to_contain_text("Articles given to customers")
    expect(sue.locator("table")).to_contain_text("old version still quoted: v1")
    expect(sue.locator("table")).to_contain_text("answers given from different versions")
    screenshot(sue, "kb-citations-report")
    sue_phone = sign_in(chromium, live_desk, "sue", width=390)
    sue_phone.goto(f"{live_desk.url}/desk/kb/citations/")
    expect(sue_phone.locator("table")).to_contain_text("answers given from different versions")
    no_horizontal_scroll(sue_phone)
    screenshot(sue_phone, "kb-citations-report-phone")
    sue_phone.goto(f"{live_desk.url}/desk/cases/{case.pk}/")
    expect(sue_phone.locator("#kb-cite")).to_contain_text("a newer version exists (v2)")
    no_horizontal_scroll(sue_phone)
    sue_phone.locator("#kb-cite").screenshot(path=str(screenshot(sue_phone, "kb-cite-panel-phone")))
    sue.goto(f"{live_desk.url}/desk/kb/citations/?since=2020-01-01&until=2020-01-31")
    expect(sue.locator("main")).to_contain_text("No article was given to a customer in this period")
    screenshot(sue, "kb-citations-report-empty")

    # The portal, as the customer (no sign-in), desktop and phone.
    for width, name in [(1366, "desktop"), (390, "phone")]:
        customer = chromium.new_context(viewport={"width": width, "height": 900}).new_page()
        customer.goto(f"{live_desk.url}/portal/help/")
        expect(customer.get_by_role("heading", level=1)).to_have_text("How can we help?")
        expect(customer.locator("main")).not_to_contain_text("Fraud checks")
        no_horizontal_scroll(customer)
        screenshot(customer, f"portal-help-{name}")
        customer.get_by_label("Search the help centre").fill("refurbshed")
        customer.get_by_role("button", name="Search").click()
        expect(customer.locator("main")).to_contain_text("Refurbished laptop warranty")
        no_horizontal_scroll(customer)
        screenshot(customer, f"portal-search-{name}")
        customer.goto(f"{live_desk.url}/portal/help/returns-policy/")
        expect(customer.locator(".portal-version")).to_contain_text("Version 2 · updated")
        expect(customer.locator(".portal-body")).to_contain_text("Start a return from My orders")
        expect(customer.locator(".portal-body")).not_to_contain_text("order number back")
        no_horizontal_scroll(customer)
        screenshot(customer, f"portal-article-{name}")
        customer.context.close()
