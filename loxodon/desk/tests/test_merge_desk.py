"""Merge history on the customer page, unmerge from the desk, and absorbed records redirecting."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Browser, expect

from loxodon.core.testing import signed_in
from loxodon.customers import services
from loxodon.customers.models import Customer, Merge
from loxodon.desk.tests.browser import LiveServer, screenshot
from loxodon.desk.tests.test_browser import PASSWORD, sign_in
from loxodon.desk.tests.test_desk_pages import text
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_staff


def _merged(supervisor: User) -> tuple[Customer, Customer, Merge]:
    jo = services.create_customer(name="Jo Bloggs", email="jo@example.com", verified=True)
    Customer.objects.filter(pk=jo.pk).update(profile_verified=True)  # Jo's profile wins
    jo.refresh_from_db()
    joanne = services.create_customer(name="Joanne Bloggs", phone="01632 960222")
    merge = services.merge_customers(
        survivor=jo, absorbed=joanne, by=supervisor, reason="Same phone and address"
    )
    return jo, joanne, merge


@pytest.fixture
def boss(supervisor: User) -> Client:
    return signed_in(supervisor)


def test_survivor_page_shows_merge_history_and_unmerge_for_supervisors(
    boss: Client, desk: Client, supervisor: User
) -> None:
    jo, _, merge = _merged(supervisor)
    page = text(boss.get(f"/desk/customers/{jo.pk}/"))
    assert "Merge history" in page
    assert "merged from 2 records" in page
    assert "Merged in: " in page and "Joanne Bloggs" in page
    assert "Same phone and address" in page
    assert "Merged by hand by Sue Supervisor" in page
    assert f'action="/desk/merges/{merge.pk}/unmerge"' in page
    # an agent sees the history but no Unmerge
    agent_page = text(desk.get(f"/desk/customers/{jo.pk}/"))
    assert "Merge history" in agent_page and "Same phone and address" in agent_page
    assert "/unmerge" not in agent_page
    # a customer never merged has no section
    other = services.create_customer(name="Someone Else")
    assert "Merge history" not in text(desk.get(f"/desk/customers/{other.pk}/"))


def test_absorbed_customer_page_redirects_to_the_survivor_with_a_notice(
    desk: Client, supervisor: User
) -> None:
    jo, joanne, _ = _merged(supervisor)
    response = desk.get(f"/desk/customers/{joanne.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/desk/customers/{jo.pk}/"
    page = text(desk.get(response["Location"]))
    assert "Joanne Bloggs was merged into another customer: showing that customer." in page
    # search finds the survivor only, by the absorbed customer's phone too
    found = text(desk.get("/desk/search", {"q": "01632 960222"}))
    assert f"/desk/customers/{jo.pk}/" in found
    assert f"/desk/customers/{joanne.pk}/" not in found


def test_unmerge_from_the_desk(boss: Client, desk: Client, supervisor: User) -> None:
    _, joanne, merge = _merged(supervisor)
    url = f"/desk/merges/{merge.pk}/unmerge"
    # agents are refused
    assert desk.post(url, {"reason": "wrong"}).status_code == 403
    # a reason is required
    response = boss.post(url, {"reason": "  "}, follow=True)
    assert "Merge not undone: reason must not be empty" in text(response)
    merge.refresh_from_db()
    assert merge.undone_at is None
    # with a reason both customers are separate again
    response = boss.post(url, {"reason": "Father and son"}, follow=True)
    page = text(response)
    assert "Merge undone:" in page and "is a separate customer again" in page
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undo_reason == "Father and son"
    assert "Undone by Sue Supervisor" in page and "“Father and son”" in page
    assert "merged from" not in page
    assert desk.get(f"/desk/customers/{joanne.pk}/").status_code == 200
    # undoing twice is a clear message, not an error page
    again = boss.post(url, {"reason": "again"}, follow=True)
    assert "Merge not undone: this merge was already undone" in text(again)
    assert boss.post("/desk/merges/not-a-merge/unmerge", {"reason": "x"}).status_code == 404


@pytest.mark.browser
def test_supervisor_unmerges_in_the_browser(
    live_desk: LiveServer, chromium: Browser, site: Site, departments: dict[str, Department]
) -> None:
    sue = create_staff(
        username="sue",
        password=PASSWORD,
        first_name="Sue",
        last_name="Test",
        role="supervisor",
        site=site,
        department=departments["support-hardware"],
    )
    jo, _, _ = _merged(sue)

    # Given the survivor's page, the header says it was merged and the history says by whom
    page = sign_in(chromium, live_desk, "sue")
    page.goto(f"{live_desk.url}/desk/customers/{jo.pk}/")
    expect(page.locator(".merged-from")).to_contain_text("merged from 2 records")
    history = page.locator("#merge-history")
    expect(history).to_contain_text("Merged in: Joanne Bloggs")
    expect(history).to_contain_text("Same phone and address")
    page.get_by_text("Unmerge…").click()
    page.get_by_label("Why were they not the same person?").fill("Two people, one phone")
    screenshot(page, "merge-history")

    # When she unmerges, both are separate again and the history keeps the record
    page.get_by_role("button", name=re.compile("^Unmerge")).click()
    expect(page.locator(".alert-success")).to_contain_text("Merge undone")
    expect(history).to_contain_text("Undone by Sue Test")
    page.locator(".alert-success").get_by_role("link", name="Joanne Bloggs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Joanne Bloggs")
    expect(page.locator("#merge-history")).to_contain_text("Merged into Jo Bloggs")
    screenshot(page, "merge-undone-absorbed")


def test_account_search_lists_only_customers_still_in_use(desk: Client, supervisor: User) -> None:
    kept = services.create_customer(name="Priya Raman", account={"name": "Northwind Haulage"})
    gone = services.create_customer(name="P. Raman", account={"name": "Northwind Haulage"})
    services.merge_customers(survivor=kept, absorbed=gone, by=supervisor, reason="same")
    found = text(desk.get("/desk/search", {"q": "Northwind"}))
    assert "Northwind Haulage" in found
    assert f"/desk/customers/{kept.pk}/" in found
    assert f"/desk/customers/{gone.pk}/" not in found
