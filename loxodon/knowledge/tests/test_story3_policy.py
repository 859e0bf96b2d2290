"""Story 3's policy part, end to end in Chromium on the demo's own data.

Given: the demo, where Margaret Ellis has a refurbished EliteBook on Windows 7, the IVR has just
verified her, and the refurbished-computers policy is at version 2 (version 1 told every
department that all refurbished units get driver support).
When: the agent opens her case, gives her the policy suggested for her problem on the phone, and
asks to support Windows 7 beyond the policy; a supervisor approves it in the approvals queue.
Then: the agent never had to ask who she is; the answer she was given, the portal and the API are
the same version; the exception records that version, its reason and its approval, on the case,
in the register and on the case's stream; the citations report shows one version quoted.
"""
# ruff: noqa: F811 (the browser fixtures are imported, then named as arguments)

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from loxodon.cases.models import Case
from loxodon.customers.models import Customer
from loxodon.demo.world import PASSWORD
from loxodon.desk.tests.browser import (  # noqa: F401 (fixtures)
    LiveServer,
    chromium,
    live_demo,
    live_desk,
    screenshot,
)
from loxodon.desk.tests.test_browser import ready
from loxodon.knowledge.models import Article, Citation, PolicyException
from loxodon.timeline.models import Event

pytestmark = pytest.mark.browser


def sign_in(browser: Browser, server: LiveServer, username: str, width: int = 1366) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(server.url + "/desk/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    ready(page)
    return page


def test_story3_one_answer_and_an_approved_exception(
    live_demo: LiveServer, chromium: Browser
) -> None:
    margaret = Customer.objects.get(
        identities__kind="email", identities__value="margaret.ellis@example.org"
    )
    policy = Article.objects.get(slug="refurbished-computers")
    assert policy.current is not None and policy.current.number == 2

    # The agent has Margaret's picture without asking: verified by the IVR, her refurbished laptop
    agent = sign_in(chromium, live_demo, "agent")
    agent.goto(f"{live_demo.url}/desk/customers/{margaret.pk}/")
    expect(agent.locator("body")).to_contain_text("Verified by IVR")
    expect(agent.locator("body")).to_contain_text("EliteBook 840 G3")
    expect(agent.locator("body")).to_contain_text("Windows 7")

    # She opens the case in Margaret's words
    agent.locator("#open-case summary").click()
    agent.get_by_label("The problem, in the customer's words").fill(
        "My refurbished laptop runs Windows 7 and I need a driver for it. Different departments "
        "told me different things about whether refurbished units are supported."
    )
    agent.locator("#open-case").get_by_role("button").last.click()
    expect(agent).to_have_url(re.compile(r"/desk/cases/[0-9a-f-]+/$"))
    ready(agent)
    case = Case.objects.get(customer=margaret, problem__startswith="My refurbished laptop")

    # The knowledge base suggests the policy for her problem, at its current version
    suggestions = agent.locator("#kb-suggestions")
    expect(suggestions.locator(f'[data-article="{policy.slug}"]')).to_contain_text("v2")

    # She gives Margaret that answer on the phone
    cite = agent.locator("#kb-cite")
    cite.get_by_label("Find a public article").fill("refurbished")
    cite.get_by_label(re.compile("Refurbished computers")).check()
    cite.get_by_label("Given by").select_option("phone")
    cite.get_by_role("button", name="Record as given").click()
    expect(agent.locator("#kb-cite")).to_contain_text("(v2) given on the phone")

    # Windows 7 is not on the supported list: beyond an agent's authority, so she asks
    panel = agent.locator("#kb-exceptions")
    panel.get_by_label("Policy").select_option(label=f"{policy.title} (v2)")
    panel.get_by_label("Parameter").select_option("supported_os")
    expect(panel.locator("#kb-exc-authority")).to_contain_text("Windows 11")
    panel.get_by_label("Items to add").fill("Windows 7")
    panel.get_by_label("Reason").fill(
        "Bought refurbished with Windows 7 preinstalled; hardware told her it was supported"
    )
    panel.get_by_role("button", name="Grant exception").click()
    expect(panel).to_contain_text("Sent for approval to supervisors")
    panel.scroll_into_view_if_needed()
    screenshot(agent, "story3-agent-case")

    # The supervisor approves it from her queue
    supervisor = sign_in(chromium, live_demo, "supervisor")
    supervisor.get_by_role("link", name="Approvals").click()
    request = supervisor.locator("li[data-exception]")
    expect(request).to_have_count(1)
    expect(request).to_contain_text("Margaret Ellis")
    expect(request).to_contain_text("Windows 7")
    supervisor.get_by_label("Note (needed to deny)").fill("One-off: driver support for Windows 7")
    supervisor.get_by_role("button", name="Approve").click()
    expect(supervisor.locator(".alert-success")).to_contain_text("Approved")
    screenshot(supervisor, "story3-supervisor-approved")

    # The agent and the case see the outcome
    agent.reload()
    expect(agent.locator("#kb-exceptions")).to_contain_text("Approved by Grace Whitfield")
    expect(agent.locator("body")).to_contain_text("Policy exception approved")
    screenshot(agent, "story3-agent-outcome")

    # The exception records the policy version it departs from, with its reason
    exception = PolicyException.objects.get(case=case)
    assert exception.status == "approved" and exception.version.number == 2
    assert exception.granted_value == ["Windows 11", "Windows 10", "Windows 7"]
    assert "preinstalled" in exception.reason
    supervisor.goto(f"{live_demo.url}/desk/kb/exceptions/")
    row = supervisor.locator("tr[data-exception]")
    expect(row).to_contain_text("v2")
    expect(row).to_contain_text("Margaret Ellis")

    # One answer: what she was told, the portal and the API are the same version
    citation = Citation.objects.get(case=case)
    event = Event.objects.get(pk=citation.event_id)
    assert (event.kind, event.channel) == ("article_cited", "phone")
    assert event.payload["version"] == 2 and event.payload["article_id"] == str(policy.pk)
    portal = chromium.new_context().new_page()
    portal.goto(f"{live_demo.url}/portal/help/{policy.slug}/")
    expect(portal.locator("body")).to_contain_text("Version 2")
    expect(portal.locator("body")).to_contain_text("Windows 10")
    screenshot(portal, "story3-portal-article")
    api = httpx.get(f"{live_demo.url}/api/v1/knowledge/articles/{policy.slug}", timeout=10).json()
    assert api["version"] == 2

    # And the citations report: one version quoted, no mixed answers
    supervisor.goto(f"{live_demo.url}/desk/kb/citations/")
    expect(supervisor.locator("body")).to_contain_text(policy.title)
    expect(supervisor.locator("body")).not_to_contain_text("answers given from different versions")
