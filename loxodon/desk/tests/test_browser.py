"""Stories 1 and 2 clicked through in Chromium as agents would, plus live updates and search."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from loxodon.cases.models import Case
from loxodon.customers.models import Customer
from loxodon.customers.services import create_customer
from loxodon.desk.tests.browser import LiveServer, screenshot
from loxodon.org.models import Department, Site
from loxodon.org.services import create_api_token, create_staff
from loxodon.timeline.models import Event
from loxodon.timeline.services import EventDraft, ingest_events

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-pw"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff(username: str, first: str, dept: Department, site: Site) -> None:
    create_staff(
        username=username,
        password=PASSWORD,
        first_name=first,
        last_name="Test",
        role="agent",
        site=site,
        department=dept,
    )


def sign_in(browser: Browser, server: LiveServer, username: str, width: int = 1366) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(server.url + "/desk/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good to see you")
    ready(page)
    return page


def ready(page: Page) -> None:
    """Wait until the desk's script has run (shortcuts and live updates are active)."""
    expect(page.locator("body")).to_have_attribute("data-desk-ready", "1")


def open_action(page: Page, button: str, action: str) -> Locator:
    """Expand a case action like an agent (after scripts are ready and the panel has opened).

    On a loaded machine a click can land while the page is still settling after a reload and
    leave the panel shut (CI saw it once in story 2); like an agent, click again, at most
    three times in all.
    """
    ready(page)
    panel = page.locator(f"#action-{action}")
    for attempt in range(3):
        page.get_by_role("button", name=button).click()
        try:
            expect(panel).to_have_class(re.compile(r"\bshow\b"), timeout=7_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    return page.locator(f"form[data-action={action}]")


def ingest(customer: Customer, ext: str, **fields: Any) -> None:
    """Ingest as a channel adapter would: from a worker thread, not Playwright's loop thread."""
    draft = EventDraft(source="test", external_id=ext, customer_id=customer.pk, **fields)

    def run() -> None:
        try:
            ingest_events([draft])
        finally:
            connection.close()  # this thread's own connection; it would outlive the test

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)


def test_story_1_the_hour_long_purchase_becomes_one_case(
    live_desk: LiveServer, chromium: Browser, site: Site, departments: dict[str, Department]
) -> None:
    # Given a business customer who configured an order on the web and identified in the IVR
    staff("amelia", "Amelia", departments["sales-business"], site)
    staff("oscar", "Oscar", departments["sales-consumer"], site)
    priya = create_customer(
        name="Priya Raman",
        email="priya@northwind.example",
        verified=True,
        account_number="AC100001",
        account={"name": "Northwind Haulage Ltd", "industry": "Transport"},
    )
    now = timezone.now()
    ingest(
        priya,
        "web-cfg",
        channel="web",
        kind="web_configuration",
        occurred_at=now - timedelta(minutes=12),
        summary="Configured 12 x ProBook 450 G10",
        payload={"product": "ProBook 450 G10", "quantity": 12, "memory": "32GB"},
    )
    ingest(
        priya,
        "ivr-1",
        channel="ivr",
        kind="call",
        occurred_at=now - timedelta(minutes=1),
        summary="IVR: business line, account verified",
        payload={"account_number_entered": "AC100001", "verified": True, "intent": "buy"},
    )

    # When the agent who answers finds her by the account number the IVR took
    page = sign_in(chromium, live_desk, "amelia")
    page.keyboard.press("/")
    expect(page.locator("#desk-search")).to_be_focused()
    page.keyboard.type("AC100001")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Priya Raman").first.click()

    # Then she sees what the customer already told us: verified by IVR, the web configuration
    told = page.locator("section.told-us")
    expect(told).to_contain_text("Verified by IVR")
    expect(told).to_contain_text("AC100001")
    expect(told).to_contain_text("Configured 12 x ProBook 450 G10")
    expect(page.locator("header")).to_contain_text("Northwind Haulage Ltd")
    screenshot(page, "customer-360-story1")

    # When she opens ONE case and gets consumer sales and finance working through tasks
    ready(page)
    page.locator("#open-case summary").click()
    page.get_by_label("The problem, in the customer's words").fill(
        "Wants to buy the 12 ProBook 450 G10 configured on the web; sold by the consumer line."
    )
    page.get_by_role("button", name="Open case — I own it").click()
    expect(page.locator(".alert-success")).to_contain_text("Case opened")
    for department, title in (
        ("Sales (consumer)", "Sell the 12 ProBook 450 G10 as configured"),
        ("Finance", "Set up 30-day invoice terms for Northwind"),
    ):
        form = open_action(page, "Add a task for any department", "add_task")
        form.get_by_label("Department").select_option(label=department)
        form.get_by_label("What needs doing").fill(title)
        form.get_by_role("button", name="Save").click()
        expect(page.locator(".alert-success")).to_contain_text(f"Task added for {department}")
    screenshot(page, "case-story1")

    case = Case.objects.get(customer=priya)
    assert case.owner is not None and case.owner.username == "amelia"
    assert sorted(t.department.code for t in case.tasks.all()) == ["finance", "sales-consumer"]
    assert not Event.objects.filter(case=case, kind="handoff").exists()  # 0 transfers

    # And when consumer sales books the order, it lands live on the open customer page
    page.goto(f"{live_desk.url}/desk/customers/{priya.pk}/")
    ready(page)
    expect(page.locator("body")).to_have_attribute("data-live-state", "connected")
    token = create_api_token(username="oscar")
    before = Event.objects.filter(customer=priya).count()
    response = httpx.post(
        f"{live_desk.url}/api/v1/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "source": "erp",
            "external_id": "order-5001",
            "channel": "phone",
            "kind": "order",
            "occurred_at": timezone.now().isoformat(),
            "summary": "Order 5001: 12 x ProBook",
            "payload": {"order_number": "5001", "lines": [{"product": "ProBook", "quantity": 12}]},
            "customer": {"account_number": "AC 100001"},
            "case_id": str(case.pk),
            "actor": "oscar",
        },
    )
    assert response.status_code == 201
    order = page.locator("#timeline-items > li", has_text="Order 5001: 12 x ProBook")
    expect(order).to_have_count(1, timeout=10_000)
    # everything new on her timeline arrived live (the order; its sales survey is a later job)
    arrived = Event.objects.filter(customer=priya).count() - before
    expect(page.locator("#live-count")).to_have_text(str(arrived))


def test_story_2_four_departments_one_owner_customer_confirms(
    live_desk: LiveServer, chromium: Browser, site: Site, departments: dict[str, Department]
) -> None:
    teams = [
        ("support-software", "sofia", "BIOS update"),
        ("support-hardware", "hamid", "New power supply"),
        ("parts", "petra", "New battery"),
        ("warranty", "walt", "Warranty replacement part"),
    ]
    staff("tom", "Tom", departments["support-hardware"], site)
    for dept, username, _ in teams:
        staff(username, username.title(), departments[dept], site)
    daniel = create_customer(name="Daniel Okafor", email="daniel@example.com", verified=True)
    owner = sign_in(chromium, live_desk, "tom")
    owner.goto(f"{live_desk.url}/desk/customers/{daniel.pk}/")
    ready(owner)
    owner.locator("#open-case summary").click()
    owner.get_by_label("The problem, in the customer's words").fill("My laptop will not power on")
    owner.get_by_role("button", name="Open case — I own it").click()
    expect(owner.locator(".alert-success")).to_contain_text("Case opened")
    case_url = owner.url
    for dept, _, title in teams:
        form = open_action(owner, "Add a task for any department", "add_task")
        form.get_by_label("Department").select_option(value=str(departments[dept].pk))
        form.get_by_label("What needs doing").fill(title)
        form.get_by_role("button", name="Save").click()
        # This task's own message: the previous one is still on screen until the page reloads.
        added = f"Task added for {departments[dept].name}"
        expect(owner.locator(".alert-success")).to_contain_text(added)

    # Each department finds its task in its own queue and completes it
    for n, (_dept, username, title) in enumerate(teams):
        agent = sign_in(chromium, live_desk, username)
        ready(agent)
        agent.get_by_role("tab", name="My department's open tasks").click()
        expect(agent.get_by_role("tab", name="My department's open tasks")).to_have_attribute(
            "aria-selected", "true"
        )
        agent.get_by_role("link", name=title).click()
        agent.get_by_label(f"What was done: {title}").fill(f"{title}: done")
        agent.get_by_role("button", name=f"Complete task: {title}").click()
        expect(agent.locator(".alert-success")).to_contain_text("task completed")
        status = agent.locator("header .badge").first
        expected = "Resolution proposed" if n == len(teams) - 1 else "Open"
        expect(status).to_have_text(expected)
        agent.context.close()

    # The case is NOT resolved until the customer confirms, recorded by the one owner
    owner.goto(case_url)
    expect(owner.locator("header .badge").first).to_have_text("Resolution proposed")
    ready(owner)
    owner.get_by_role("button", name="Record the customer's confirmation").click()
    owner.locator("form[data-action=confirm]").get_by_label(
        "The customer confirmed by"
    ).select_option("phone")
    owner.get_by_role("button", name="Record confirmation").click()
    expect(owner.locator("header .badge").first).to_have_text("Resolved (customer confirmed)")
    screenshot(owner, "case-story2-confirmed")
    case = Case.objects.get(customer=daniel)
    assert case.status == "resolved_confirmed" and case.owner is not None
    assert case.owner.username == "tom"
    assert not Event.objects.filter(case=case, kind="handoff").exists()


def test_search_is_keyboard_friendly_and_pages_look_right(
    live_desk: LiveServer, chromium: Browser, site: Site, departments: dict[str, Department]
) -> None:
    staff("kim", "Kim", departments["parts"], site)
    jo = create_customer(
        name="Jo Bloggs",
        phone="01632 960001",
        email="jo@example.com",
        account={"name": "Bloggs Bikes"},
    )
    for n in range(40):
        ingest(
            jo,
            f"s{n}",
            channel=["email", "phone", "chat", "web"][n % 4],
            kind="message",
            occurred_at=timezone.now() - timedelta(days=n),
            summary=f"Contact number {n}",
        )
    page = sign_in(chromium, live_desk, "kim")
    screenshot(page, "home-queues")
    ready(page)
    page.keyboard.press("/")
    page.keyboard.type("+44 (0)1632-960001")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    expect(page.locator("#r-customers")).to_contain_text("Customers")
    screenshot(page, "search")
    # Tab from the search field reaches the first result; Enter opens it
    page.locator("#q").focus()
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_contain_text("Jo Bloggs")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jo Bloggs")
    ready(page)
    # Load more appends older events without reloading
    expect(page.locator("#timeline-items > li.timeline-item")).to_have_count(30)
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("#timeline-items > li.timeline-item")).to_have_count(40)
    screenshot(page, "customer-360")
    # A laptop-sized screen still lays out (no horizontal scrolling)
    page.set_viewport_size({"width": 1024, "height": 768})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "customer-360-1024")
    # below 1200 px the navigation folds into the menu button
    page.get_by_role("button", name="Toggle navigation").click()
    # wait for the fold-out to finish: a click during Bootstrap's transition can be lost
    page.locator("#nav.collapse.show").wait_for()
    account = page.get_by_role("button", name="Kim Test")
    account.click()
    expect(account).to_have_attribute("aria-expanded", "true")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    screenshot(page, "login")
