"""Story 5, end to end in Chromium on the demo's own data: the customer sees what we see.

Given: the demo, where Daniel Okafor (story 2) has one case for his laptop, owned by one agent,
with four departments' tasks, half of them done, and a portal login.
When: he signs in, reads his case, orders, products and conversations, corrects his phone
number, pins the case, downloads his data; the departments finish; he confirms the case
resolved and rates the service and the earlier sales experience.
Then: he saw every department's progress in plain words and no internal note; every change is
on his timeline; his surveys are survey events; and another customer sees none of it.
"""
# ruff: noqa: F811 (the browser fixtures are imported, then named as arguments)

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from loxodon.cases.models import Case, CaseStatus, TaskStatus
from loxodon.cases.services import complete_task
from loxodon.demo.world import PASSWORD
from loxodon.desk.tests.browser import (  # noqa: F401 (fixtures)
    LiveServer,
    chromium,
    in_worker,
    live_demo,
    live_desk,
    no_horizontal_scroll,
    screenshot,
)
from loxodon.org.models import User
from loxodon.portal.models import PortalLogin
from loxodon.timeline.models import Event

pytestmark = pytest.mark.browser


def sign_in(browser: Browser, server: LiveServer, email: str, width: int = 1280) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(server.url + "/portal/sign-in/")
    form = page.locator("form", has=page.locator('input[name="method"][value="password"]'))
    form.get_by_label("Email address").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(f"{server.url}/portal/sign-in/")
    return page


def test_story5_the_customer_sees_what_we_see(live_demo: LiveServer, chromium: Browser) -> None:
    login = PortalLogin.objects.select_related("customer").get(
        identity__value="daniel.okafor@example.com"
    )
    daniel = login.customer
    case = Case.objects.get(customer=daniel, problem="My laptop will not power on.")
    notes = [t.completion_note for t in case.tasks.all() if t.completion_note]
    assert notes, "the demo's story 2 case has completed tasks with internal notes"

    # He signs in on his phone and finds his case with each department's progress
    page = sign_in(chromium, live_demo, "daniel.okafor@example.com", width=390)
    page.goto(f"{live_demo.url}/portal/cases/{case.pk}/")
    body = page.locator("body")
    expect(body).to_contain_text("We're working on it")
    expect(body).to_contain_text("BIOS update — done on")
    expect(body).to_contain_text("New battery — in progress")
    for note in notes:  # what departments wrote for each other never reaches him
        expect(body).not_to_contain_text(note[:40])
    no_horizontal_scroll(page)
    screenshot(page, "story5-case-phone")

    # His orders, products and conversations, across channels
    page.goto(f"{live_demo.url}/portal/orders/")
    expect(page.locator("main")).not_to_contain_text("No orders")
    page.goto(f"{live_demo.url}/portal/products/")
    expect(page.locator("main")).to_contain_text("warranty", ignore_case=True)
    page.goto(f"{live_demo.url}/portal/conversations/")
    expect(page.locator("main")).not_to_contain_text("No conversations")

    # He corrects his phone number: recorded on his timeline
    page.goto(f"{live_demo.url}/portal/account/")
    page.get_by_role("button", name="Phone number").click()
    page.get_by_label("Phone number").fill("07700 900456")
    page.get_by_label("Phone number").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your phone number is updated")
    page.goto(f"{live_demo.url}/portal/timeline/")
    expect(page.locator("main")).to_contain_text("Contact details changed")
    assert Event.objects.filter(customer=daniel, kind="contact_details_changed").count() == 1

    # He pins the case: it comes first on his home page
    page.goto(f"{live_demo.url}/portal/cases/{case.pk}/")
    page.get_by_role("button", name="Pin to the top").click()
    expect(page.get_by_role("button", name="Unpin")).to_be_visible()

    # He downloads everything we hold about him that he may see
    page.goto(f"{live_demo.url}/portal/my-data/")
    page.get_by_role("button", name="Prepare my download").click()
    expect(page.get_by_role("status")).to_contain_text("Your download is ready")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the zip prepared").first.click()
    with zipfile.ZipFile(info.value.path()) as archive:
        names = set(archive.namelist())
        assert {"profile.json", "timeline.csv", "cases.json"} <= names
        cases = json.loads(archive.read("cases.json"))
        everything = b"".join(archive.read(n) for n in names).decode()
    assert any(c["problem"] == case.problem for c in cases)
    for note in notes:
        assert note[:40] not in everything

    # The departments finish; the case proposes its resolution
    def finish() -> None:
        for task in case.tasks.exclude(status=TaskStatus.DONE).select_related("assignee"):
            complete_task(task=task, note="Fitted and tested.", actor=task.assignee)

    in_worker(finish)
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLUTION_PROPOSED

    # He confirms it resolved, and rates the service
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_demo.url}/portal/cases/{case.pk}/")
    page.get_by_role("button", name="Yes, it's fixed").click()
    expect(page.locator("body")).to_contain_text("Thank you for confirming")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED_CONFIRMED
    page.goto(f"{live_demo.url}/portal/feedback/")
    screenshot(page, "story5-feedback")
    for _ in range(2):  # the service survey, then the one about his laptop order
        page.get_by_role("link", name="Answer the survey").first.click()
        for choice in ("satisfaction_4", "effort_0", "intent_0"):  # buttons styled as labels
            page.locator(f'label[for="id_{choice}"]').click()
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_role("status")).to_contain_text("your answers have reached the team")
    surveys = Event.objects.filter(customer=daniel, kind="survey")
    assert sorted(e.payload["touchpoint"] for e in surveys) == ["sales", "service"]

    # His home page: the pinned case first
    page.goto(f"{live_demo.url}/portal/")
    screenshot(page, "story5-home")

    # Another customer sees none of it, by any URL
    priya = sign_in(chromium, live_demo, "priya.raman@northwind-haulage.example")
    for path in (f"/portal/cases/{case.pk}/", "/portal/timeline/", "/portal/my-data/"):
        response = priya.goto(live_demo.url + path)
        assert response is not None
        if "cases" in path:
            assert response.status == 404
        else:
            expect(priya.locator("body")).not_to_contain_text("Daniel")
            expect(priya.locator("body")).not_to_contain_text("+447700900456")
    # and the staff who did the work see his confirmation and his words on the case
    agent = User.objects.get(username="agent")
    assert case.owner_id == agent.pk
    assert Event.objects.filter(case=case, kind="confirmation").exists()
