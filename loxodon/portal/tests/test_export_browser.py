"""Download my data and feedback in Chromium at phone and desktop width: prepare a download and
fetch the zip, answer a survey with the keyboard; screenshots of each page."""
# ruff: noqa: F811 (pytest fixtures imported from other modules are redefined as arguments)

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Browser, Page, expect

from loxodon.desk.tests.browser import LiveServer, chromium, live_desk, screenshot  # noqa: F401
from loxodon.insights.models import InvitationChannel, Touchpoint
from loxodon.insights.services import invite_to_survey
from loxodon.org.models import User
from loxodon.portal.access import SESSION_KEY
from loxodon.portal.models import PortalLogin
from loxodon.portal.tests.export_fixtures import portal_customer
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def open_as(browser: Browser, server: LiveServer, login: PortalLogin, width: int) -> Page:
    session = SessionStore()
    session[SESSION_KEY] = str(login.pk)
    session.create()
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
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
def test_download_my_data_and_answer_a_survey_in_the_browser(
    live_desk: LiveServer, chromium: Any, agent: User, width: int, tmp_path: Path
) -> None:
    tag = "phone" if width < 500 else "desktop"
    customer, login = portal_customer("Jo Bloggs", "jo@example.com")
    order = record_event(
        customer_id=customer.pk,
        kind="order",
        channel="web",
        summary="Order 1042",
        payload={"order_number": "1042", "lines": [{"product": "Laptop"}]},
    )
    invite_to_survey(
        customer, Touchpoint.SALES, about_event=order, channel=InvitationChannel.PORTAL
    )
    page = open_as(chromium, live_desk, login, width)

    page.goto(f"{live_desk.url}/portal/my-data/")
    expect(page.get_by_role("heading", name="Download my data")).to_be_visible()
    expect(page.get_by_text("You have not prepared a download yet.")).to_be_visible()
    screenshot(page, f"portal-my-data-empty-{tag}")
    page.get_by_role("button", name="Prepare my download").click()
    expect(page.get_by_role("status")).to_contain_text("Your download is ready")
    screenshot(page, f"portal-my-data-{tag}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the zip prepared").first.click()
    saved = tmp_path / "my-data.zip"
    info.value.save_as(saved)
    assert "timeline.json" in zipfile.ZipFile(saved).namelist()

    page.goto(f"{live_desk.url}/portal/feedback/")
    expect(page.get_by_text("About your order 1042")).to_be_visible()
    screenshot(page, f"portal-feedback-{tag}")
    page.get_by_role("link", name="Answer the survey about your order 1042").click()
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    screenshot(page, f"portal-feedback-answer-{tag}")
    # keyboard only: a radio group is one tab stop, the arrow keys choose within it
    page.locator("#id_satisfaction_0").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # to the effort group
    page.keyboard.press("Space")  # 1
    page.keyboard.press("ArrowRight")  # 2
    page.keyboard.press("Tab")  # to "would you buy again"
    page.keyboard.press("Space")  # yes
    expect(page.locator("#id_satisfaction_3")).to_be_checked()
    expect(page.locator("#id_effort_1")).to_be_checked()
    expect(page.locator("#id_intent_0")).to_be_checked()
    page.get_by_label("Anything you would like to tell us?").fill("Smooth delivery")
    page.get_by_role("button", name="Send my answers").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("your answers have reached the team")
    expect(page.get_by_text("No surveys waiting for you")).to_be_visible()
    screenshot(page, f"portal-feedback-answered-{tag}")
    [survey] = Event.objects.filter(customer=customer, kind="survey")
    assert survey.payload["satisfaction"] == 4 and survey.payload["effort"] == 2
