"""Policy exceptions clicked through in Chromium: an agent asks on a case, a supervisor approves
in the queue, the case shows the outcome, the register lists it (and on a phone)."""
# ruff: noqa: F811 (fixtures imported from the desk's browser harness)

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.customers.models import Customer
from loxodon.desk.tests.browser import (  # noqa: F401 - fixtures
    LiveServer,
    chromium,
    in_worker,
    live_desk,
    no_horizontal_scroll,
    screenshot,
)
from loxodon.desk.tests.test_browser import (  # noqa: F401 - fast_passwords is a fixture
    PASSWORD,
    fast_passwords,
    sign_in,
)
from loxodon.knowledge import services
from loxodon.knowledge.models import PolicyException
from loxodon.knowledge.tests.exceptions_fixtures import RETURNS_POLICY
from loxodon.org.models import Department, Site
from loxodon.org.services import create_staff

pytestmark = pytest.mark.browser


def test_agent_asks_supervisor_approves_register_lists_it(
    live_desk: LiveServer, chromium: Browser, site: Site, departments: dict[str, Department]
) -> None:
    def setup() -> Case:
        ann = create_staff(
            username="ann",
            password=PASSWORD,
            first_name="Ann",
            last_name="Agent",
            role="agent",
            site=site,
            department=departments["sales-consumer"],
        )
        sue = create_staff(
            username="sue",
            password=PASSWORD,
            first_name="Sue",
            last_name="Supervisor",
            role="supervisor",
            site=site,
            department=departments["support-hardware"],
        )
        services.create_article(
            by=sue,
            title="Returns policy",
            slug="returns",
            body="Return within **30 days**.",
            audience="public",
            policy=RETURNS_POLICY,
        )
        customer = Customer.objects.create(name="Jo Bloggs", home_site=site)
        return open_case(
            customer=customer,
            problem="Laptop bought 40 days ago will not boot; wants to return it",
            actor=ann,
            owner=ann,
        )

    case = in_worker(setup)

    # Given Ann on the case page, the exceptions panel loads with the policies
    ann = sign_in(chromium, live_desk, "ann")
    ann.goto(f"{live_desk.url}/desk/cases/{case.pk}/")
    panel = ann.locator("#kb-exceptions")
    expect(panel).to_contain_text("No exceptions on this case")
    # When she chooses the policy, its parameters and her authority appear
    panel.get_by_label("Policy").select_option(label="Returns policy (v1)")
    expect(panel.locator("#kb-exc-authority")).to_contain_text(
        "You may extend by up to 15 days; more goes to a supervisor"
    )
    # A value short of the policy is refused on the form, nothing written
    panel.get_by_label("New value").fill("20")
    panel.get_by_label("Reason").fill("Bought as a gift, opened late")
    panel.get_by_role("button", name="Grant exception").click()
    expect(panel.locator("#kb-exc-error")).to_contain_text("not an exception")
    panel.scroll_into_view_if_needed()
    screenshot(ann, "exceptions-case-form-error")
    assert not PolicyException.objects.exists()
    # Beyond her authority (20 extra days), it goes to the supervisors
    panel.get_by_label("New value").fill("50")
    panel.get_by_role("button", name="Grant exception").click()
    expect(panel).to_contain_text("Sent for approval to supervisors")
    expect(panel).to_contain_text("Waiting for approval")
    screenshot(ann, "exceptions-case-panel")

    # Sue approves it in her queue
    sue = sign_in(chromium, live_desk, "sue")
    sue.get_by_role("link", name="Approvals").click()
    expect(sue.get_by_role("heading", level=1)).to_have_text(re.compile("Approvals"))
    expect(sue.locator("li[data-exception]")).to_have_count(1)
    expect(sue.locator("li[data-exception]")).to_contain_text("+20 days beyond the policy")
    screenshot(sue, "exceptions-approvals-queue")
    sue.get_by_label("Note (needed to deny)").fill("Fine: the gift was opened late")
    sue.get_by_role("button", name="Approve").click()
    expect(sue.locator(".alert-success")).to_contain_text("Approved: Return window")
    expect(sue.locator(".empty-state")).to_contain_text("No exceptions wait for approval")
    screenshot(sue, "exceptions-approvals-empty")

    # Ann's case shows the outcome, on the panel and in the stream
    ann.reload()
    expect(ann.locator("#kb-exceptions")).to_contain_text("Approved by Sue Supervisor")
    expect(ann.locator("body")).to_contain_text("Policy exception approved")

    # The register lists it with its policy version
    ann.goto(f"{live_desk.url}/desk/kb/exceptions/")
    row = ann.locator("tr[data-exception]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("Approved by Sue Supervisor")
    screenshot(ann, "exceptions-register")

    # On a phone, nothing is wider than the screen
    phone = sign_in(chromium, live_desk, "sue", width=390)
    for path, name in (
        (f"/desk/cases/{case.pk}/", "exceptions-case-panel-phone"),
        ("/desk/kb/exceptions/", "exceptions-register-phone"),
        ("/desk/kb/approvals/", "exceptions-approvals-phone"),
    ):
        phone.goto(live_desk.url + path)
        if "cases" in path:
            expect(phone.locator("#kb-exceptions")).to_be_visible()
        no_horizontal_scroll(phone)
        screenshot(phone, name)
