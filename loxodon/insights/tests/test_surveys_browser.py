"""The survey page in Debian's Chromium: a customer on a phone answers through the real server
(real Origin/Referer headers, so the CSRF check and the referrer policy meet for real)."""

from __future__ import annotations

from typing import Any

import pytest

from loxodon.customers.services import create_customer
from loxodon.desk.tests.browser import LiveServer, chromium, live_desk, screenshot  # noqa: F401
from loxodon.insights.services import invite_to_survey
from loxodon.timeline.models import Event

pytestmark = pytest.mark.browser


def test_a_customer_answers_on_a_phone(live_desk: LiveServer, chromium: Any) -> None:  # noqa: F811
    priya = create_customer(name="Priya Shah", email="priya@example.com", verified=True)
    invitation = invite_to_survey(priya, "support", channel="portal")
    assert invitation is not None and invitation.token
    link = f"{live_desk.url}/survey/{invitation.token}/"

    page = chromium.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(link)
        assert page.get_by_role("heading", name="How did we do, Priya?").is_visible()
        screenshot(page, "survey-phone")
        # every question is a labelled group; pick by the visible labels
        page.get_by_role("radiogroup", name="Overall, how satisfied are you?").get_by_text(
            "2", exact=True
        ).click()
        page.get_by_role("radiogroup", name="How much effort did you have to put in?").get_by_text(
            "6", exact=True
        ).click()
        page.get_by_text("Maybe", exact=True).click()
        page.get_by_label("Anything you would like to tell us? (optional)").fill("Slow.")
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(f"{live_desk.url}/survey/thanks/")
        assert page.get_by_role("heading", name="Thank you").is_visible()

        # the back button and a second try: the friendly "already answered" page
        response = page.goto(link)
        assert response is not None and response.status == 410
        assert page.get_by_text("You have already answered this survey").is_visible()
    finally:
        page.close()

    [survey] = Event.objects.filter(customer=priya, kind="survey")
    assert survey.payload["satisfaction"] == 2
    assert survey.payload["effort"] == 6
    assert survey.payload["intent"] == "maybe"
    assert survey.payload["comment"] == "Slow."
