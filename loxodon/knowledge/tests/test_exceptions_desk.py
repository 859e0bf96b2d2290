"""Policy exceptions through the desk: the case panel, the approvals queue, the register."""
# ruff: noqa: F811 (pytest fixtures imported from exceptions_fixtures are redefined as arguments)

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from loxodon.cases.models import Case
from loxodon.cases.services import close_unconfirmed
from loxodon.knowledge import services
from loxodon.knowledge.models import Article, PolicyException
from loxodon.knowledge.tests.exceptions_fixtures import (  # noqa: F401 - fixtures
    RETURNS_POLICY,
    admin_user,
    case,
    plain_article,
    returns_policy,
    sam_desk,
    sue_desk,
    supervisor_two,
)
from loxodon.org.models import User
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def panel_url(case: Case) -> str:
    return reverse("knowledge:case-exceptions", args=[case.pk])


def grant(
    client: Client, case: Case, policy: Article, parameter: str, value: str, reason: str = "x"
) -> Any:
    return client.post(
        panel_url(case),
        {"policy": str(policy.pk), "parameter": parameter, "value": value, "reason": reason},
        headers=HTMX,
    )


def decide(client: Client, exception: PolicyException, decision: str, note: str = "") -> Any:
    return client.post(
        reverse("knowledge:exception-decide", args=[exception.pk]),
        {"decision": decision, "note": note},
    )


def test_panel_lists_policies_and_shows_the_agents_authority(
    desk: Client, case: Case, returns_policy: Article
) -> None:
    # Given a returns policy, when Ann opens the case's exceptions panel
    page = desk.get(panel_url(case), headers=HTMX)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<section class="card mb-3" id="kb-exceptions"' in html
    assert "Returns policy (v1)" in html
    assert "No exceptions on this case" in html
    # When she chooses the policy, the parameter part shows its value and her authority
    fields = desk.get(panel_url(case), {"fields": "1", "policy": str(returns_policy.pk)})
    text = fields.content.decode()
    assert "Return window (policy: 30 days)" in text
    assert "You may extend by up to 15 days; more goes to a supervisor" in text
    other = desk.get(
        panel_url(case),
        {"fields": "1", "policy": str(returns_policy.pk), "parameter": "supported_os"},
    )
    assert "Any addition goes to a supervisor for approval" in other.content.decode()


def test_within_authority_is_granted_at_once_with_the_policy_version(
    desk: Client, case: Case, returns_policy: Article, agent: User
) -> None:
    # When Ann extends the return window by 15 days (her limit)
    response = grant(desk, case, returns_policy, "return_window", "45", "Loyal customer")
    # Then it is granted at once, the panel says so and lists it
    assert response.status_code == 200
    html = response.content.decode()
    assert "Granted: Return window 30 days → 45 days" in html
    assert "Loyal customer" in html
    exception = PolicyException.objects.get()
    assert exception.status == "granted"
    assert exception.version.number == 1 and exception.granted_value == 45
    assert exception.policy_value == 30 and exception.excess == 15
    assert exception.site == case.site and exception.requested_by == agent
    # And the case's stream has an internal event carrying the policy version
    event = Event.objects.get(kind="exception_granted")
    assert event.case_id == case.pk and event.customer_id == case.customer_id
    assert event.internal is True
    assert event.payload["version"] == 1
    assert event.payload["exception_id"] == str(exception.pk)
    assert event.payload["slug"] == "returns" and event.payload["granted_value"] == 45
    assert event.payload["reason"] == "Loyal customer"
    case_page = desk.get(reverse("desk:case", args=[case.pk]))
    assert "Policy exception granted: Return window 30 days → 45 days" in case_page.content.decode()


def test_beyond_authority_goes_to_the_queue_and_a_supervisor_approves(
    desk: Client, sue_desk: Client, case: Case, returns_policy: Article, supervisor: User
) -> None:
    # When Ann grants 20 extra days (beyond her 15)
    response = grant(desk, case, returns_policy, "return_window", "50", "Stuck abroad")
    assert "Sent for approval to supervisors" in response.content.decode()
    exception = PolicyException.objects.get()
    assert exception.status == "pending" and exception.excess == 20
    assert Event.objects.filter(kind="exception_requested", case=case).count() == 1
    assert "Waiting for approval" in response.content.decode()
    # Then Sue sees it in her queue with the excess
    queue = sue_desk.get(reverse("knowledge:approvals"))
    html = queue.content.decode()
    assert queue.status_code == 200
    assert f'data-exception="{exception.pk}"' in html
    assert "+20 days beyond the policy" in html and "Stuck abroad" in html
    # When she approves it
    decided = decide(sue_desk, exception, "approve", "Fine this once")
    assert decided.status_code == 302
    exception.refresh_from_db()
    assert exception.status == "approved" and exception.decided_by == supervisor
    assert exception.decision_note == "Fine this once"
    # Then the queue is empty, and the case panel and stream show the outcome
    assert (
        "No exceptions wait for approval"
        in sue_desk.get(reverse("knowledge:approvals")).content.decode()
    )
    panel = desk.get(panel_url(case), headers=HTMX).content.decode()
    assert "Approved by Sue Supervisor" in panel
    event = Event.objects.get(kind="exception_approved")
    assert event.case_id == case.pk and event.actor == supervisor
    assert event.payload["status"] == "approved" and event.payload["version"] == 1


def test_deny_needs_a_note_and_then_shows_on_the_panel(
    desk: Client, sue_desk: Client, case: Case, returns_policy: Article
) -> None:
    grant(desk, case, returns_policy, "return_window", "90", "Customer asked")
    exception = PolicyException.objects.get()
    response = decide(sue_desk, exception, "deny", "")
    assert response.status_code == 302
    exception.refresh_from_db()
    assert exception.status == "pending"
    follow = sue_desk.get(reverse("knowledge:approvals")).content.decode()
    assert "say why the exception is denied" in follow
    decide(sue_desk, exception, "deny", "Outside any reasonable window")
    exception.refresh_from_db()
    assert exception.status == "denied"
    panel = desk.get(panel_url(case), headers=HTMX).content.decode()
    assert "Denied by Sue Supervisor" in panel and "Outside any reasonable window" in panel
    assert Event.objects.filter(kind="exception_denied", case=case).count() == 1


def test_agent_cannot_see_the_queue_or_decide(
    desk: Client, case: Case, returns_policy: Article, colleague: User
) -> None:
    from loxodon.core.testing import signed_in

    grant(desk, case, returns_policy, "return_window", "50", "why")
    exception = PolicyException.objects.get()
    assert desk.get(reverse("knowledge:approvals")).status_code == 403
    carl = signed_in(colleague)
    assert decide(carl, exception, "approve").status_code == 403
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_supervisor_beyond_their_own_limit_cannot_approve_but_an_admin_can(
    desk: Client, sue_desk: Client, case: Case, returns_policy: Article, admin_user: User
) -> None:
    from loxodon.core.testing import signed_in

    # 70 extra days: beyond Sue's 60
    grant(desk, case, returns_policy, "return_window", "100", "Warranty mix-up")
    exception = PolicyException.objects.get()
    queue = sue_desk.get(reverse("knowledge:approvals")).content.decode()
    assert "an admin must decide" in queue
    response = decide(sue_desk, exception, "approve")
    assert response.status_code == 403
    assert "an admin must decide" in response.content.decode()
    exception.refresh_from_db()
    assert exception.status == "pending"
    decide(signed_in(admin_user), exception, "approve", "ok")
    exception.refresh_from_db()
    assert exception.status == "approved" and exception.decided_by == admin_user


def test_nobody_decides_their_own_request_and_a_second_decision_is_refused(
    sue_desk: Client, sam_desk: Client, case: Case, returns_policy: Article
) -> None:
    # Sue asks for a second extra OS (her authority: one)
    grant(sue_desk, case, returns_policy, "supported_os", "Windows 8.1, Linux", "Old machine")
    exception = PolicyException.objects.get()
    assert exception.status == "pending" and exception.granted_value == [
        "Windows 11",
        "Windows 10",
        "Windows 8.1",
        "Linux",
    ]
    queue = sue_desk.get(reverse("knowledge:approvals")).content.decode()
    assert "Your own request" in queue
    assert decide(sue_desk, exception, "approve").status_code == 403
    # Sam can't approve two either (his authority is one item): an admin must
    assert decide(sam_desk, exception, "approve").status_code == 403
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_double_decision_is_a_conflict(
    desk: Client,
    sue_desk: Client,
    sam_desk: Client,
    case: Case,
    returns_policy: Article,
    supervisor: User,
    supervisor_two: User,
) -> None:
    grant(desk, case, returns_policy, "return_window", "50", "why")
    exception = PolicyException.objects.get()
    decide(sue_desk, exception, "approve")
    decide(sam_desk, exception, "deny", "no")
    exception.refresh_from_db()
    assert exception.status == "approved" and exception.decided_by == supervisor
    assert "already approved" in sam_desk.get(reverse("knowledge:approvals")).content.decode()
    assert Event.objects.filter(kind__in=["exception_approved", "exception_denied"]).count() == 1


@pytest.mark.parametrize(
    ("parameter", "value", "error"),
    [
        ("return_window", "forty", "Return window needs a number of days"),
        ("return_window", "20", "not more than that, so it is not an exception"),
        ("return_window", "30", "not more than that"),
        ("nonsense", "45", "This policy has no parameter"),
        ("supported_os", "Windows 11", "every item is already in the policy"),
        ("restocking_fee", "maybe", "Restocking fee charged is yes or no"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    desk: Client,
    case: Case,
    returns_policy: Article,
    parameter: str,
    value: str,
    error: str,
) -> None:
    response = grant(desk, case, returns_policy, parameter, value, "why")
    assert response.status_code == 200  # htmx swaps the form with its error
    assert error in response.content.decode()
    assert 'id="kb-exc-error"' in response.content.decode()
    assert not PolicyException.objects.exists()
    assert not Event.objects.filter(kind__startswith="exception_").exists()
    # without htmx, the same refusal is a 400
    plain = desk.post(
        panel_url(case),
        {"policy": str(returns_policy.pk), "parameter": parameter, "value": value, "reason": "x"},
    )
    assert plain.status_code == 400


def test_non_policy_article_missing_reason_and_closed_case_are_refused(
    desk: Client, case: Case, returns_policy: Article, plain_article: Article, agent: User
) -> None:
    response = grant(desk, case, plain_article, "return_window", "45", "why")
    assert "is not a policy" in response.content.decode()
    response = grant(desk, case, returns_policy, "return_window", "45", "  ")
    assert "say why the customer gets this exception" in response.content.decode()
    close_unconfirmed(case=case, reason="customer went quiet", actor=agent)
    response = grant(desk, case, returns_policy, "return_window", "45", "why")
    assert "reopen it to grant an exception" in response.content.decode()
    assert not PolicyException.objects.exists()
    assert desk.get(reverse("knowledge:case-exceptions", args=["nope"])).status_code == 404


def test_exception_keeps_its_version_after_the_policy_is_revised(
    desk: Client, case: Case, returns_policy: Article, supervisor: User
) -> None:
    grant(desk, case, returns_policy, "return_window", "40", "why")
    revised = {"parameters": [dict(RETURNS_POLICY["parameters"][0], value=35)]}
    services.revise_article(
        article=returns_policy, by=supervisor, change_note="35 days now", policy=revised
    )
    grant(desk, case, returns_policy, "return_window", "45", "again")
    first, second = PolicyException.objects.order_by("created_at")
    assert (first.version.number, first.policy_value) == (1, 30)
    assert (second.version.number, second.policy_value, second.excess) == (2, 35, 10)
    register = desk.get(reverse("knowledge:exceptions")).content.decode()
    assert register.count(">v1</span>") == 1 and register.count(">v2</span>") == 1
    assert "30 days → <strong>40 days</strong>" in register


def test_register_filters_counts_and_csv_escaping(
    desk: Client,
    sue_desk: Client,
    case: Case,
    returns_policy: Article,
    other_site: Any,
    colleague: User,
) -> None:
    from loxodon.core.testing import signed_in

    grant(desk, case, returns_policy, "return_window", "45", '=HYPERLINK("http://x")')
    grant(desk, case, returns_policy, "return_window", "60", "+1 loyal")
    grant(signed_in(colleague), case, returns_policy, "restocking_fee", "no", "@sum")
    url = reverse("knowledge:exceptions")
    page = desk.get(url).content.decode()
    assert "3 exceptions" in page
    assert 'Granted <span class="badge text-bg-light border">2</span>' in page
    assert 'Waiting for approval <span class="badge text-bg-light border">1</span>' in page
    # by agent
    assert "1 exception " in desk.get(url, {"agent": "carl"}).content.decode()
    # by status
    assert "1 exception " in desk.get(url, {"status": "pending"}).content.decode()
    # by site: the case is London's, whoever asked
    assert "3 exceptions" in desk.get(url, {"site": "lon"}).content.decode()
    assert "No exceptions match these filters" in desk.get(url, {"site": "man"}).content.decode()
    # by period
    assert "No exceptions match" in desk.get(url, {"since": "2100-01-01"}).content.decode()
    assert "3 exceptions" in desk.get(url, {"until": "2100-01-01"}).content.decode()
    # by policy
    assert "3 exceptions" in desk.get(url, {"policy": "returns"}).content.decode()
    # a bad filter is ignored with a message
    assert "Filters ignored" in desk.get(url, {"since": "yesterday"}).content.decode()
    # CSV: every exception, formula-looking cells defused
    response = desk.get(url, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 3
    reasons = sorted(r["reason"] for r in rows)
    assert reasons == ["'+1 loyal", '\'=HYPERLINK("http://x")', "'@sum"]
    assert {r["version"] for r in rows} == {"1"}
    filtered = desk.get(url, {"format": "csv", "agent": "carl"}).content.decode()
    assert len(list(csv.DictReader(io.StringIO(filtered)))) == 1


def test_empty_states(desk: Client, sue_desk: Client) -> None:
    assert "No policy exceptions yet" in desk.get(reverse("knowledge:exceptions")).content.decode()
    assert (
        "No exceptions wait for approval"
        in sue_desk.get(reverse("knowledge:approvals")).content.decode()
    )


def test_requester_may_withdraw_a_pending_request(
    desk: Client, case: Case, returns_policy: Article
) -> None:
    grant(desk, case, returns_policy, "return_window", "50", "why")
    exception = PolicyException.objects.get()
    response = decide(desk, exception, "withdraw")
    assert response.status_code == 302
    exception.refresh_from_db()
    assert exception.status == "withdrawn"
    assert Event.objects.filter(kind="exception_withdrawn", case=case).count() == 1
