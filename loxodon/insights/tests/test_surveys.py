"""Surveys per touchpoint: invitations by email over a real SMTP server, single-use signed links,
the window rule, responses as `survey` events, and the triggers. Time moves by passing `now`."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from loxodon.core.testing import Api, event
from loxodon.customers.models import Customer
from loxodon.insights import survey_views
from loxodon.insights.log_filters import RedactSurveyTokens
from loxodon.insights.models import SurveyInvitation
from loxodon.insights.services import (
    SurveyAnswers,
    SurveyClosed,
    invite_after_orders,
    invite_to_survey,
    record_survey_response,
    send_invitation,
)
from loxodon.insights.tasks import survey_after_resolution
from loxodon.outbound.tests.conftest import Mailbox, smtp  # noqa: F401  (the SMTP fixture)
from loxodon.timeline.models import Event

LINK = re.compile(r"https?://[^\s]+/survey/(?P<token>[A-Za-z0-9_-]{43})/")
GOOD = {"satisfaction": "4", "effort": "2", "intent": "yes", "comment": "Quick and friendly."}


@pytest.fixture(autouse=True)
def fresh_guess_counters() -> Iterator[None]:
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


@pytest.fixture
def jo(customer: dict[str, Any]) -> Customer:
    return Customer.objects.get(pk=customer["id"])


def surveys_of(customer: Customer) -> list[Event]:
    return list(Event.objects.filter(customer=customer, kind="survey"))


def portal_link(customer: Customer, touchpoint: str = "support", **kwargs: Any) -> str:
    invitation = invite_to_survey(customer, touchpoint, channel="portal", **kwargs)
    assert invitation is not None and invitation.token
    return f"/survey/{invitation.token}/"


def open_case(api: Api, customer: dict[str, Any], problem: str) -> dict[str, Any]:
    response = api.post(
        "/cases", {"customer_id": customer["id"], "problem": problem, "owner": "ann"}
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


# --- email invitation, end to end ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker runs what was committed
def test_invitation_email_over_smtp_carries_a_working_single_use_link(
    api: Api,
    customer: dict[str, Any],
    jo: Customer,
    smtp: Mailbox,  # noqa: F811
    settings: Settings,
) -> None:
    settings.LOXODON_PUBLIC_URL = "https://care.example.com/"
    settings.LOXODON_ORG_NAME = "Contoso Computers"
    case = open_case(api, customer, "Laptop will not power on\nsince Tuesday")
    case_row = jo.cases.get(pk=case["id"])

    # Given an email invitation about the case (the send job is enqueued on commit)
    invitation = invite_to_survey(jo, "service", case=case_row)
    assert invitation is not None and invitation.token is None
    [job] = DBTaskResult.objects.filter(task_path__endswith="send_survey_invitation")
    assert job.args_kwargs["args"] == [str(invitation.pk)]  # the id, never a token

    # When the worker runs
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    # Then one plain-text email from the organisation, marked automatic, with the link
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["jo.bloggs@example.com"]
    [mail] = smtp.messages
    assert mail["From"] == "Contoso Computers <support@loxodon.test>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "text/plain"
    text = str(mail.get_content())
    assert "Dear Jo," in text
    assert "your case 'Laptop will not power on'" in text
    match = LINK.search(text)
    assert match is not None and match[0].startswith("https://care.example.com/survey/")
    token = match["token"]
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()

    # And the link opens the survey, saying who it is for and what it is about
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/survey/{token}/")
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "strict-origin"  # never the path (see the view)
    html = page.content.decode()
    assert "How did we do, Jo?" in html
    assert "your case &#x27;Laptop will not power on&#x27;" in html
    csrf = browser.cookies["csrftoken"].value

    # When the customer answers, then once more (back button, second tab)
    answered = browser.post(f"/survey/{token}/", {**GOOD, "csrfmiddlewaretoken": csrf})
    again = browser.post(f"/survey/{token}/", {**GOOD, "csrfmiddlewaretoken": csrf})

    # Then the first is thanked and recorded; the second is a friendly 410, nothing written
    assert answered.status_code == 302 and answered["Location"] == "/survey/thanks/"
    assert "Thank you" in browser.get("/survey/thanks/").content.decode()
    assert again.status_code == 410
    assert again["Referrer-Policy"] == "no-referrer"
    assert "already answered" in again.content.decode()
    assert browser.get(f"/survey/{token}/").status_code == 410
    [survey] = surveys_of(jo)
    assert survey.case_id == case_row.pk
    assert (survey.channel, survey.source, survey.external_id) == (
        "email",
        "survey",
        str(invitation.pk),
    )

    # And a second run of the job sends nothing more
    assert send_invitation(invitation.pk) is False
    assert len(smtp.envelopes) == 1


def test_the_post_needs_the_csrf_token(jo: Customer) -> None:
    browser = Client(enforce_csrf_checks=True)
    link = portal_link(jo)
    assert browser.post(link, GOOD).status_code == 403
    assert surveys_of(jo) == []


def test_a_customer_without_email_is_not_invited_by_email(api: Api) -> None:
    created = api.post("/customers", {"name": "Sam Phone", "phone": "01632 960002"}).json()
    sam = Customer.objects.get(pk=created["id"])
    assert invite_to_survey(sam, "support") is None
    assert invite_to_survey(sam, "support", channel="portal") is not None


# --- the link: once, expiry, guesses ------------------------------------------------------------


def test_an_expired_link_is_refused_and_writes_nothing(jo: Customer) -> None:
    link = portal_link(jo, now=timezone.now() - timedelta(days=15))
    page = Client().get(link)
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert Client().post(link, GOOD).status_code == 410
    assert surveys_of(jo) == []
    assert SurveyInvitation.objects.get().used_at is None


def test_a_service_call_with_a_used_or_expired_link_is_refused(jo: Customer) -> None:
    now = timezone.now()
    invitation = invite_to_survey(jo, "sales", channel="portal", now=now)
    assert invitation is not None and invitation.token
    answers = SurveyAnswers(satisfaction=5, effort=1, intent="yes")
    with pytest.raises(SurveyClosed):
        record_survey_response(invitation.token, answers, now=now + timedelta(days=14))
    record_survey_response(invitation.token, answers, now=now + timedelta(days=1))
    with pytest.raises(SurveyClosed):
        record_survey_response(invitation.token, answers, now=now + timedelta(days=2))
    assert len(surveys_of(jo)) == 1


def test_guessed_links_are_refused_then_rate_limited_and_never_logged(
    jo: Customer,
    anonymous: Api,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.LOXODON_SURVEY_GUESS_RATE = "3/d"
    real = portal_link(jo)
    browser = Client()
    guesses = [uuid.uuid4().hex + uuid.uuid4().hex[:11] for _ in range(5)]
    caplog.set_level(logging.DEBUG)

    # Given three wrong links: friendly 404s
    for guess in guesses[:2]:
        page = browser.get(f"/survey/{guess}/")
        assert page.status_code == 404
        assert "does not work" in page.content.decode()
    assert browser.get("/survey/not-even-a-token/").status_code == 404

    # When one more is tried (page or API), then even a real link: 429, nothing written
    assert browser.get(f"/survey/{guesses[2]}/").status_code == 429
    refused = anonymous.post(
        f"/surveys/{guesses[3]}/responses", {"satisfaction": 5, "effort": 1, "intent": "yes"}
    )
    assert refused.status_code == 429 and refused["Retry-After"]
    limited = browser.get(real)
    assert limited.status_code == 429
    assert "try again" in limited.content.decode().lower()
    assert surveys_of(jo) == []

    # And no token reached the logs (which do record other pages not found)
    assert Client().get("/web/no-such-page/").status_code == 404
    logged = caplog.text
    assert "/web/no-such-page/" in logged
    for token in [*guesses, real.split("/")[2]]:
        assert token not in logged

    # Another address is not affected
    assert Client(REMOTE_ADDR="192.0.2.7").get(real).status_code == 200


# --- the window rule ----------------------------------------------------------------------------


def test_one_invitation_per_touchpoint_per_customer_per_window(
    jo: Customer, api: Api, customer: dict[str, Any], settings: Settings
) -> None:
    settings.LOXODON_SURVEY_WINDOW_DAYS = 30
    now = timezone.now()
    first = invite_to_survey(jo, "support", now=now)
    assert first is not None
    assert invite_to_survey(jo, "support", now=now + timedelta(days=29)) is None
    assert invite_to_survey(jo, "support", channel="portal", now=now + timedelta(days=1)) is None
    assert invite_to_survey(jo, "sales", now=now + timedelta(days=1)) is not None
    assert invite_to_survey(jo, "support", now=now + timedelta(days=31)) is not None

    # The API says why it did not invite
    again = api.post("/surveys/invitations", {"customer_id": customer["id"], "touchpoint": "sales"})
    assert again.status_code == 409
    assert "already invited to a sales survey in the last 30 days" in again.json()["detail"]
    # one survey_invited event per invitation made, none for the refusals
    assert Event.objects.filter(customer=jo, kind="survey_invited").count() == 3


# --- the API ------------------------------------------------------------------------------------


def test_portal_invitation_and_response_through_the_api_make_one_canonical_survey_event(
    api: Api, anonymous: Api, customer: dict[str, Any]
) -> None:
    # Given a support survey sent by an agent after a call, shown in the portal
    created = api.post(
        "/surveys/invitations",
        {"customer_id": customer["id"], "touchpoint": "support", "channel": "portal"},
    )
    assert created.status_code == 201, created.content
    invitation = created.json()
    assert invitation["status"] == "waiting"
    token = LINK.search(invitation["survey_url"])["token"]  # type: ignore[index]

    # When the customer answers through the public endpoint (no credentials but the token)
    answered = anonymous.post(
        f"/surveys/{token}/responses",
        {"satisfaction": 2, "effort": 6, "intent": "maybe", "comment": "  Three transfers.  "},
    )
    replayed = anonymous.post(
        f"/surveys/{token}/responses", {"satisfaction": 5, "effort": 1, "intent": "yes"}
    )

    # Then exactly one survey event, with the canonical payload, on the customer's timeline
    assert answered.status_code == 201, answered.content
    assert replayed.status_code == 410
    assert replayed["Referrer-Policy"] == "no-referrer"
    timeline = api.get(f"/customers/{customer['id']}/timeline").json()
    surveys = [e for e in timeline["items"] if e["kind"] == "survey"]
    assert len(surveys) == 1
    [survey] = surveys
    assert survey["id"] == answered.json()["event_id"]
    assert survey["channel"] == "web"
    assert survey["body"] == "Three transfers."
    assert survey["payload"] == {
        "touchpoint": "support",
        "satisfaction": 2,
        "effort": 6,
        "intent": "maybe",
        "comment": "Three transfers.",
        "invitation_id": invitation["id"],
    }
    [listed] = api.get("/surveys/invitations", customer_id=customer["id"]).json()
    assert listed["status"] == "answered"
    assert listed["response_event_id"] == survey["id"]
    assert listed["survey_url"] is None  # the link is shown once


def test_invitations_are_for_staff(anonymous: Api, customer: dict[str, Any]) -> None:
    assert anonymous.get("/surveys/invitations", customer_id=customer["id"]).status_code == 401
    body = {"customer_id": customer["id"], "touchpoint": "support"}
    assert anonymous.post("/surveys/invitations", body).status_code == 401


@pytest.mark.parametrize(
    ("field", "value"), [("satisfaction", 6), ("effort", 0), ("intent", "perhaps")]
)
def test_invalid_answers_are_refused_and_write_nothing(
    jo: Customer, anonymous: Api, field: str, value: Any
) -> None:
    link = portal_link(jo)
    token = link.split("/")[2]

    # The page: form errors (400), the link still works
    page = Client().post(link, {**GOOD, field: str(value)})
    assert page.status_code == 400
    assert "Please answer the questions marked below" in page.content.decode()
    # The API: 422 naming the field
    answers = {"satisfaction": 4, "effort": 2, "intent": "yes", field: value}
    refused = anonymous.post(f"/surveys/{token}/responses", answers)
    assert refused.status_code == 422
    assert field in refused.json()["detail"]

    assert surveys_of(jo) == []
    assert SurveyInvitation.objects.get().used_at is None
    assert Client().get(link).status_code == 200


def test_the_survey_payload_schema_refuses_bad_events_from_other_systems(
    api: Api, customer: dict[str, Any]
) -> None:
    bad = event(
        "ivr-1",
        customer_id=customer["id"],
        channel="phone",
        kind="survey",
        summary="Post-call survey",
        payload={"touchpoint": "support", "satisfaction": 6, "effort": 0, "intent": "perhaps"},
    )
    refused = api.post("/events", bad)
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "payload.satisfaction" in detail and "payload.effort" in detail
    assert "payload.intent" in detail
    as_text = {**bad, "payload": {"touchpoint": "support", "satisfaction": "5"}}
    assert api.post("/events", as_text).status_code == 400

    # A one-question post-call survey is fine
    good = {**bad, "payload": {"touchpoint": "support", "satisfaction": 5}}
    assert api.post("/events", good).status_code == 201


# --- triggers -----------------------------------------------------------------------------------


def test_confirmed_resolution_sends_a_service_survey_about_the_case(
    api: Api,
    customer: dict[str, Any],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    case = open_case(api, customer, "Laptop will not power on")
    proposed = api.post(f"/cases/{case['id']}/propose-resolution", {"summary": "New PSU fitted"})
    assert proposed.status_code == 200, proposed.content

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = api.post(f"/cases/{case['id']}/confirm", {"via": "phone"})
    assert confirmed.status_code == 200, confirmed.content

    # the confirmation queued the invitation job; the worker runs it
    [job] = DBTaskResult.objects.filter(task_path__endswith="survey_after_resolution")
    assert job.args_kwargs["args"] == [case["id"]]
    invitation_id = survey_after_resolution.call(*job.args_kwargs["args"])

    [invitation] = SurveyInvitation.objects.all()
    assert str(invitation.pk) == invitation_id
    assert (invitation.touchpoint, invitation.channel) == ("service", "email")
    assert str(invitation.case_id) == case["id"]
    [invited] = Event.objects.filter(kind="survey_invited")
    assert invited.summary == (
        "Survey invitation (service) about your case 'Laptop will not power on'"
    )


def test_recent_orders_invite_to_a_sales_survey_once(jo: Customer, api: Api) -> None:
    now = timezone.now()

    def order(n: int, at: Any, status: str = "placed") -> Event:
        body = event(
            f"erp-{n}",
            customer_id=str(jo.pk),
            kind="order",
            channel="web",
            occurred_at=at.isoformat(),
            payload={"order_number": f"SO-{n}", "status": status, "lines": [{"product": "X"}]},
        )
        response = api.post("/events", body)
        assert response.status_code == 201, response.content
        return Event.objects.get(pk=response.json()["id"])

    old = order(1, now - timedelta(days=40))
    quoted = order(2, now - timedelta(hours=2), status="quoted")
    assert invite_after_orders([old, quoted], now=now) == []
    fresh = [order(3, now - timedelta(hours=1)), order(4, now - timedelta(minutes=5))]
    [invitation] = invite_after_orders(fresh, now=now)
    assert (invitation.touchpoint, invitation.about_event_id) == ("sales", fresh[0].pk)
    assert invite_after_orders([order(5, now)], now=now) == []  # within the window


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_make_one_survey_event(api: Api, customer: dict[str, Any]) -> None:
    jo = Customer.objects.get(pk=customer["id"])
    invitation = invite_to_survey(jo, "support", channel="portal")
    assert invitation is not None and invitation.token
    token = invitation.token
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        start.wait()
        try:
            record_survey_response(token, SurveyAnswers(satisfaction=4, effort=2, intent="yes"))
            outcomes.append("recorded")
        except SurveyClosed:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["recorded", "refused"]
    assert Event.objects.filter(kind="survey", customer=jo).count() == 1


def test_the_log_filter_redacts_survey_tokens() -> None:
    token = "A" * 43
    record = logging.LogRecord(
        "django.security.csrf", logging.WARNING, __file__, 1, "Forbidden (%s): %s",
        ("CSRF cookie not set.", f"/survey/{token}/"), None,
    )  # fmt: skip
    assert RedactSurveyTokens().filter(record)
    assert record.getMessage() == "Forbidden (CSRF cookie not set.): /survey/[token]/"
    kept = logging.LogRecord("x", logging.INFO, __file__, 1, "GET /survey/thanks/", None, None)
    RedactSurveyTokens().filter(kept)
    assert kept.getMessage() == "GET /survey/thanks/"


# --- the desk button ------------------------------------------------------------------------

urlpatterns = [  # the desk route as the insights urls mount it, plus the whole site
    path(
        "desk/insights/surveys/invite/<uuid:customer_id>/",
        survey_views.send_support_survey,
        name="survey-invite",
    ),
    path("", include("loxodon.urls")),
]


@pytest.mark.urls(__name__)
def test_an_agent_sends_a_support_survey_from_the_desk(
    desk: Client, jo: Customer, anonymous: Api
) -> None:
    url = f"/desk/insights/surveys/invite/{jo.pk}/"
    sent = desk.post(url, follow=True)
    assert sent.status_code == 200
    assert "A support survey is on its way" in sent.content.decode()
    [invitation] = SurveyInvitation.objects.filter(customer=jo)
    assert (invitation.touchpoint, invitation.channel) == ("support", "email")
    assert Event.objects.get(kind="survey_invited").actor.username == "ann"  # type: ignore[union-attr]

    again = desk.post(url, follow=True)
    assert "No survey sent: the customer was already invited" in again.content.decode()
    assert SurveyInvitation.objects.count() == 1
    assert Client().post(url).status_code == 302  # to the login page
