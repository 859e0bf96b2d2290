"""The insights dashboard in Chromium: a supervisor filters, sees the charts, downloads a CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from loxodon.cases import services as cases
from loxodon.customers.services import create_customer
from loxodon.desk.tests import browser as harness
from loxodon.desk.tests.browser import LiveServer, in_worker, screenshot
from loxodon.org.models import Department, Site
from loxodon.org.services import create_site, create_staff
from loxodon.timeline.services import record_event

pytestmark = pytest.mark.browser
# the desk's browser harness: the real ASGI app under uvicorn, Debian's Chromium
live_desk = harness.live_desk
chromium = harness.chromium
PASSWORD = "browser-test-pw"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def history(site: Site, other: Site, departments: dict[str, Department]) -> None:
    """Cases at two sites (one handed off), worked by two departments, and sales/service
    surveys in both payload shapes."""
    ann = create_staff(
        username="ann", role="agent", site=site, department=departments["sales-business"]
    )
    carl = create_staff(
        username="carl", role="agent", site=other, department=departments["support-hardware"]
    )
    for n, (owner, where) in enumerate([(ann, site), (ann, site), (carl, other)]):
        customer = create_customer(name=f"Customer {n}")
        case = cases.open_case(
            customer=customer, problem=f"Problem {n}", actor=owner, owner=owner, site=where
        )
        cases.add_task(case=case, department=departments["parts"], title="Part", actor=owner)
        if n == 1:
            cases.hand_off(case=case, to=carl, context="hardware fault", actor=ann)
        record_event(
            customer_id=customer.pk,
            case_id=case.pk,
            kind="message",
            channel="email",
            summary="Still waiting",
            payload={"direction": "inbound"},
        )
        surveys = [
            {"touchpoint": "sales", "score": 5 - 3 * (n % 2), "would_buy_again": n != 1},
            {"touchpoint": "service", "satisfaction": 4, "effort": 2, "intent": "yes",
             "comment": "", "case_id": str(case.pk)},
        ]  # fmt: skip
        for payload in surveys:
            record_event(customer_id=customer.pk, kind="survey", summary="Survey", payload=payload)


def test_a_supervisor_filters_the_dashboard_and_downloads_csv(
    live_desk: LiveServer,
    chromium: Browser,
    site: Site,
    departments: dict[str, Department],
    tmp_path: Path,
) -> None:
    # Given a history at two sites and a supervisor
    other = create_site(code="man", name="Manchester", time_zone="Europe/London")
    in_worker(lambda: history(site, other, departments))
    create_staff(username="sue", password=PASSWORD, first_name="Sue", role="supervisor", site=site)

    # When she signs in and opens the insights dashboard
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(live_desk.url + "/desk/login/")
    page.get_by_label("Username").fill("sue")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("body")).to_have_attribute("data-desk-ready", "1")
    page.goto(live_desk.url + "/desk/insights/")
    expect(page.locator("body")).to_have_attribute("data-desk-ready", "1")

    # Then the charts are drawn by Chart.js (SLA, effort, CSAT x2, rings)
    body = page.locator("body")
    expect(body).to_have_attribute("data-charts-renders", "1")
    drawn = int(body.get_attribute("data-charts-drawn") or 0)
    assert drawn >= 4
    expect(page.locator("canvas[data-chart-drawn='1']")).to_have_count(drawn)
    assert page.evaluate(
        "Array.from(document.querySelectorAll('canvas[data-chart]'))"
        ".every(c => window.Chart.getChart(c) !== undefined)"
    )
    expect(page.locator('[data-kpi="cases"]')).to_have_text("3")
    expect(page.locator('[data-kpi="transfers"]')).to_have_text("1")
    expect(page.locator("#rings-table")).to_contain_text("positive")
    screenshot(page, "insights-dashboard")

    # When she narrows it to Manchester, the results are swapped in and redrawn
    page.get_by_label("Site", exact=True).select_option("man")
    expect(body).to_have_attribute("data-charts-renders", "2")
    expect(page.locator('[data-kpi="cases"]')).to_have_text("1")
    expect(page.locator("#dash-scope")).to_contain_text("site: Manchester")
    assert "site=man" in page.url
    assert page.evaluate(
        "window.Chart.getChart(document.querySelector('canvas[data-chart=chart-effort]'))"
        ".data.labels.length"
    ) == 1  # fmt: skip
    screenshot(page, "insights-dashboard-manchester")

    # And the CSV she downloads has the same filter
    with page.expect_download() as info:
        page.locator("#dash-exports").get_by_role("link", name="Effort by case").click()
    saved = tmp_path / "effort.csv"
    info.value.save_as(saved)
    table = list(csv.reader(io.StringIO(saved.read_text())))
    assert table[0][0] == "case_id"
    assert [row[4] for row in table[1:]] == ["man"]
    context.close()


def test_an_agent_sees_the_refusal_page(
    live_desk: LiveServer, chromium: Browser, site: Site, departments: dict[str, Department]
) -> None:
    create_staff(username="ann", password=PASSWORD, role="agent", site=site)
    page = chromium.new_context().new_page()
    page.goto(live_desk.url + "/desk/login/?next=/desk/insights/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("supervisors and admins")
    page.context.close()
