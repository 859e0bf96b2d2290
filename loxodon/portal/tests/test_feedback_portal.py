"""Feedback in the portal: invitations after a confirmed resolution and after a sales event,
answered once without the email token, stored as a `survey` event for insights."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django import DjangoCaptureOnCommitCallbacks

from loxodon.cases.services import confirm_resolution, open_case, propose_resolution
from loxodon.core.testing import Api
from loxodon.insights.models import SurveyInvitation
from loxodon.insights.tasks import survey_after_resolution, surveys_after_orders
from loxodon.org.models import User
from loxodon.portal.tests.export_fixtures import portal_client, portal_customer
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db

ANSWERS = {"satisfaction": "4", "effort": "2", "intent": "yes", "comment": "Quick, thanks"}


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def run_jobs(task_name: str, task: Any) -> list[Any]:
    return [
        task.call(*job.args_kwargs["args"])
        for job in DBTaskResult.objects.filter(task_path__endswith=task_name)
    ]


def resolved_and_confirmed(
    customer: Any, agent: User, capture: DjangoCaptureOnCommitCallbacks
) -> Any:
    case = open_case(customer=customer, problem="Printer jams", actor=agent, owner=agent)
    propose_resolution(case=case, summary="Roller replaced", actor=agent)
    with capture(execute=True):
        # what the portal's "Yes, it's fixed" does
        confirm_resolution(case=case, via="web", actor=None)
    run_jobs("survey_after_resolution", survey_after_resolution)
    return case


def test_no_surveys_is_an_empty_state() -> None:
    _, login = portal_customer("Jo Bloggs", "jo@example.com")
    page = portal_client(login).get(reverse("portal:feedback"))
    assert page.status_code == 200
    assert "No surveys waiting for you" in page.content.decode()


def test_a_confirmed_resolution_brings_a_survey_i_answer_once(
    agent: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    customer, login = portal_customer("Jo Bloggs", "jo@example.com")
    case = resolved_and_confirmed(customer, agent, django_capture_on_commit_callbacks)
    [invitation] = SurveyInvitation.objects.filter(customer=customer)
    assert invitation.case_id == case.pk

    client = portal_client(login)
    listing = client.get(reverse("portal:feedback")).content.decode()
    url = reverse("portal:feedback-answer", args=[invitation.pk])
    assert url in listing
    assert "your case &#x27;Printer jams&#x27;" in listing

    form = client.get(url)
    assert form.status_code == 200
    assert "How much effort did you have to put in?" in form.content.decode()

    sent = client.post(url, ANSWERS)
    assert sent.status_code == 302 and sent["Location"] == reverse("portal:feedback")
    [survey] = Event.objects.filter(customer=customer, kind="survey")
    assert survey.payload["touchpoint"] == "service"
    assert survey.payload["satisfaction"] == 4 and survey.payload["effort"] == 2
    assert survey.payload["intent"] == "yes" and survey.body == "Quick, thanks"
    assert survey.payload["case_id"] == str(case.pk)
    invitation.refresh_from_db()
    assert invitation.used_at is not None and invitation.response_event_id == survey.pk

    after = client.get(reverse("portal:feedback")).content.decode()
    assert "your answers have reached the team" in after
    assert url not in after and "Answered" in after

    again = client.post(url, ANSWERS)
    assert again.status_code == 410
    assert "You have already answered this survey" in again.content.decode()
    assert Event.objects.filter(customer=customer, kind="survey").count() == 1


def test_a_sales_event_brings_a_sales_survey(
    api: Api, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    customer, login = portal_customer("Jo Bloggs", "jo@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/events",
            {
                "source": "shop",
                "external_id": "order-77",
                "channel": "web",
                "kind": "order",
                "occurred_at": timezone.now().isoformat(),
                "summary": "Order 77",
                "customer_id": str(customer.pk),
                "payload": {"order_number": "77", "lines": [{"product": "Toner"}]},
            },
        )
    assert response.status_code == 201, response.content
    run_jobs("surveys_after_orders", surveys_after_orders)
    [invitation] = SurveyInvitation.objects.filter(customer=customer)
    assert invitation.touchpoint == "sales"

    client = portal_client(login)
    listing = client.get(reverse("portal:feedback")).content.decode()
    assert "your order 77" in listing
    url = reverse("portal:feedback-answer", args=[invitation.pk])
    assert client.post(url, {**ANSWERS, "intent": "maybe"}).status_code == 302
    [survey] = Event.objects.filter(customer=customer, kind="survey")
    assert survey.payload["touchpoint"] == "sales" and survey.payload["intent"] == "maybe"


def test_bad_answers_say_what_is_wrong_and_write_nothing(
    agent: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    customer, login = portal_customer("Jo Bloggs", "jo@example.com")
    resolved_and_confirmed(customer, agent, django_capture_on_commit_callbacks)
    [invitation] = SurveyInvitation.objects.filter(customer=customer)
    client = portal_client(login)
    url = reverse("portal:feedback-answer", args=[invitation.pk])
    bad = client.post(url, {"satisfaction": "9", "effort": "", "intent": "yes"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Please answer the questions marked below" in html
    assert "Please choose a number from 1 to 7." in html
    assert not Event.objects.filter(kind="survey").exists()
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_an_expired_survey_is_not_listed_and_says_so(
    agent: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    customer, login = portal_customer("Jo Bloggs", "jo@example.com")
    resolved_and_confirmed(customer, agent, django_capture_on_commit_callbacks)
    [invitation] = SurveyInvitation.objects.filter(customer=customer)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        invited_at=timezone.now() - timedelta(days=20),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    client = portal_client(login)
    url = reverse("portal:feedback-answer", args=[invitation.pk])
    assert url not in client.get(reverse("portal:feedback")).content.decode()
    closed = client.post(url, ANSWERS)
    assert closed.status_code == 410
    assert "This survey has closed" in closed.content.decode()
    assert not Event.objects.filter(kind="survey").exists()


def test_another_customers_survey_is_a_logged_404_like_none(
    agent: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bo, _ = portal_customer("Bo Other", "bo@example.com")
    resolved_and_confirmed(bo, agent, django_capture_on_commit_callbacks)
    [theirs] = SurveyInvitation.objects.filter(customer=bo)
    _, jo_login = portal_customer("Jo Bloggs", "jo@example.com")
    client = portal_client(jo_login)
    assert (
        reverse("portal:feedback-answer", args=[theirs.pk])
        not in client.get(reverse("portal:feedback")).content.decode()
    )
    nobody = "0190f5a2-0000-7000-8000-000000000000"
    with caplog.at_level(logging.WARNING, logger="loxodon.portal.access"):
        for method in ("get", "post"):
            mine = getattr(client, method)(
                reverse("portal:feedback-answer", args=[theirs.pk]), ANSWERS
            )
            none = getattr(client, method)(
                reverse("portal:feedback-answer", args=[nobody]), ANSWERS
            )
            assert mine.status_code == none.status_code == 404
            assert mine.content == none.content
    logged = [r.getMessage() for r in caplog.records if r.name == "loxodon.portal.access"]
    assert sum(str(theirs.pk) in m for m in logged) == 2
    assert not Event.objects.filter(kind="survey").exists()
    theirs.refresh_from_db()
    assert theirs.used_at is None


def test_confirming_in_the_portal_puts_the_case_survey_on_my_feedback_page(
    agent: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    customer, login = portal_customer("Jo Bloggs", "jo@example.com")
    case = open_case(customer=customer, problem="Screen flickers", actor=agent, owner=agent)
    propose_resolution(case=case, summary="Cable replaced", actor=agent)
    client = portal_client(login)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(reverse("portal:case-action", args=[case.pk, "confirm"]))
    assert confirmed.status_code == 302, confirmed.content
    # the worker's resolution job finds the customer already invited: still one invitation
    run_jobs("survey_after_resolution", survey_after_resolution)
    [invitation] = SurveyInvitation.objects.filter(customer=customer)
    assert (invitation.touchpoint, invitation.case_id) == ("service", case.pk)
    listing = client.get(reverse("portal:feedback")).content.decode()
    assert "your case &#x27;Screen flickers&#x27;" in listing
    url = reverse("portal:feedback-answer", args=[invitation.pk])
    assert client.post(url, ANSWERS).status_code == 302
    [survey] = Event.objects.filter(customer=customer, kind="survey")
    assert survey.payload["case_id"] == str(case.pk)
