"""The identity review queue clicked through in Chromium by a supervisor (and looked at on a
phone and with an admin's full navigation)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, expect

from loxodon.customers.models import Customer, MatchReview
from loxodon.customers.tests.review_pairs import make_pair
from loxodon.desk.tests.browser import LiveServer, no_horizontal_scroll, screenshot
from loxodon.desk.tests.test_browser import PASSWORD, ready, sign_in
from loxodon.org.models import Department, Site
from loxodon.org.services import create_staff

pytestmark = pytest.mark.browser


def pair_of(site: Site, other_site: Site, **kwargs: Any) -> MatchReview:
    """A pair written from a worker thread, as the linkage job would (its events publish live
    updates, which cannot run on Playwright's event-loop thread)."""
    made: list[MatchReview] = []

    def run() -> None:
        try:
            made.append(make_pair(site, other_site, **kwargs))
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    return made[0]


def test_supervisor_merges_one_pair_and_keeps_the_next_apart(
    live_desk: LiveServer,
    chromium: Browser,
    site: Site,
    other_site: Site,
    departments: dict[str, Department],
) -> None:
    create_staff(
        username="sue",
        password=PASSWORD,
        first_name="Sue",
        last_name="Test",
        role="supervisor",
        site=site,
        department=departments["support-hardware"],
    )
    first = pair_of(site, other_site, score=0.93, first=("Joanne Bloggs", "Jo Bloggs"))
    second = pair_of(site, other_site, score=0.81, first=("Sam Patel", "Samir Patel"))

    # Given a supervisor on the desk, the Duplicates link leads to the queue
    page = sign_in(chromium, live_desk, "sue")
    page.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Possible duplicates"))
    expect(page.locator("#review-count")).to_contain_text("2 pairs")
    rows = page.locator("tr[data-review]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("93%")
    screenshot(page, "identity-review-queue")

    # When she opens the top pair with the keyboard
    ready(page)
    compare = page.get_by_role("link", name="Compare Jo Bloggs and Joanne Bloggs").or_(
        page.get_by_role("link", name="Compare Joanne Bloggs and Jo Bloggs")
    )
    compare.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Same person?")
    expect(page.locator("#review-score")).to_have_text("93.0%")
    expect(page.locator('tr[data-field="street"]')).to_contain_text("Differs")
    expect(page.locator("#plan")).to_contain_text("What a merge would change")
    expect(page.get_by_label(re.compile("^Note"))).to_be_visible()
    screenshot(page, "identity-review-pair")

    # Then Merge takes her to the next pair with a confirmation
    merge = page.get_by_role("button", name=re.compile("^Merge"))
    merge.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".alert-success")).to_contain_text("Merged:")
    expect(page.locator(".alert-success")).to_contain_text("Here is the next pair.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Patel")
    first.refresh_from_db()
    assert first.status == "merged"
    gone = [c for c in (first.customer_a_id, first.customer_b_id) if c != first.merge.survivor_id]  # type: ignore[union-attr]
    assert Customer.objects.get(pk=gone[0]).merged_into_id == first.merge.survivor_id  # type: ignore[union-attr]

    # And "Not the same person" (with her reason) empties the queue
    page.get_by_label(re.compile("^Note")).fill("Different dates of birth on their passports")
    page.get_by_role("button", name="Not the same person").click()
    expect(page.locator(".alert-success")).to_contain_text("will not be suggested again")
    expect(page.locator(".empty-state")).to_contain_text("No pairs wait for review.")
    expect(page.locator(".empty-state")).to_contain_text("loxodon link_customers")
    screenshot(page, "identity-review-empty")
    second.refresh_from_db()
    assert second.status == MatchReview.Status.NOT_SAME

    # The decided pair shows its outcome
    page.get_by_role("link", name="Not the same person").click()
    expect(page.locator("tr[data-review]")).to_have_count(1)
    page.get_by_role("link", name=re.compile("^Open")).click()
    expect(page.locator("#outcome")).to_contain_text("Decided by Sue Test")
    expect(page.locator("#outcome")).to_contain_text("Different dates of birth")
    screenshot(page, "identity-review-decided")


def test_review_pages_fit_a_phone_and_the_admin_navigation_fits(
    live_desk: LiveServer,
    chromium: Browser,
    site: Site,
    other_site: Site,
    departments: dict[str, Department],
) -> None:
    create_staff(
        username="ada",
        password=PASSWORD,
        first_name="Ada",
        last_name="Test",
        role="admin",
        site=site,
    )
    pair = pair_of(site, other_site, score=0.88)
    phone = sign_in(chromium, live_desk, "ada", width=390)
    phone.goto(f"{live_desk.url}/desk/identity/reviews/")
    expect(phone.locator("tr[data-review]")).to_have_count(1)
    screenshot(phone, "identity-review-queue-phone")
    assert no_horizontal_scroll(phone)
    phone.goto(f"{live_desk.url}/desk/identity/reviews/{pair.pk}/")
    expect(phone.get_by_role("button", name="Not the same person")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "identity-review-pair-phone")
    # the navigation folds into the menu on a phone and the Duplicates link is inside it
    ready(phone)
    phone.get_by_role("button", name="Toggle navigation").click()
    expect(phone.get_by_role("link", name="Duplicates")).to_be_visible()

    # An admin has the most links: at 1200 px and above they stay on one line without overflow
    for width in (1200, 1280, 1440):
        page = sign_in(chromium, live_desk, "ada", width=width)
        page.goto(f"{live_desk.url}/desk/identity/reviews/")
        links = page.locator("#nav .navbar-nav .nav-link")
        expect(links.filter(has_text="Duplicates")).to_be_visible()
        tops = {
            round(box["y"])
            for box in (links.nth(i).bounding_box() for i in range(links.count()))
            if box
        }
        assert len(tops) == 1, f"navigation wraps at {width}px"
        assert no_horizontal_scroll(page)
        nav = page.locator("nav.navbar")
        assert nav.evaluate("n => n.scrollWidth <= n.clientWidth")
        screenshot(page, f"identity-review-nav-{width}")
        page.context.close()
