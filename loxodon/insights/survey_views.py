"""The customer's survey page, `/survey/<token>/`: no login, no desk navigation.

Thin: the link is checked and the answers recorded by `insights.services`. Privacy: the token
must never leak, to another site or into a log. Every page sets `Referrer-Policy: no-referrer`,
except the form itself, which sets `strict-origin`: it sends our origin, never the path; with
`no-referrer` browsers post the form with `Origin: null` (and no Referer), which Django's CSRF
check rightly refuses. All pages are `no-store` and `noindex`; our own 4xx answers are marked as
logged so Django's request log never prints the path (the token).

Guessing is rate limited per client IP: each unknown link counts, and over
`LOXODON_SURVEY_GUESS_RATE` (default "30/h") every survey request from that IP is refused with
429, valid links included, until the period ends.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import get_usage

from loxodon.core.errors import InvalidInput, NotFound
from loxodon.customers.selectors import get_customer_for
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.insights import services
from loxodon.insights.models import SurveyInvitation, Touchpoint
from loxodon.insights.services import SurveyAnswers, SurveyClosed

log = logging.getLogger(__name__)

GUESS_GROUP = "loxodon.insights.survey-link-guesses"

SATISFACTION = [(n, str(n)) for n in range(1, 6)]
EFFORT = [(n, str(n)) for n in range(1, 8)]
INTENT = [("yes", "Yes"), ("maybe", "Maybe"), ("no", "No")]


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        choices=SATISFACTION,
        coerce=int,
        widget=forms.RadioSelect,
        label="Overall, how satisfied are you?",
        error_messages={"required": "Please choose a number from 1 to 5."},
    )
    effort = forms.TypedChoiceField(
        choices=EFFORT,
        coerce=int,
        widget=forms.RadioSelect,
        label="How much effort did you have to put in?",
        error_messages={"required": "Please choose a number from 1 to 7."},
    )
    intent = forms.ChoiceField(
        choices=INTENT,
        widget=forms.RadioSelect,
        label="Would you buy from us again?",
        error_messages={"required": "Please choose yes, maybe or no."},
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        label="Anything you would like to tell us? (optional)",
    )

    def answers(self) -> SurveyAnswers:
        data = self.cleaned_data
        return SurveyAnswers(
            satisfaction=data["satisfaction"],
            effort=data["effort"],
            intent=data["intent"],
            comment=data["comment"],
        )


# --- guessing ---------------------------------------------------------------------------------


def _guess_rate() -> str:
    return str(getattr(settings, "LOXODON_SURVEY_GUESS_RATE", "30/h"))


def guesses_exceeded(request: HttpRequest, *, count_one: bool) -> int | None:
    """Seconds to wait when this IP has guessed too many links (None: go ahead).

    `count_one` records one more unknown link first. A broken cache lets requests through
    (each guess is still a 1 in 2^256 shot)."""
    try:
        usage = get_usage(
            request, group=GUESS_GROUP, key="ip", rate=_guess_rate(), increment=count_one
        )
    except Exception:
        log.warning("survey guess limit not checked: cache unavailable", exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


# --- responses --------------------------------------------------------------------------------


def _private(response: HttpResponse, referrer_policy: str = "no-referrer") -> HttpResponse:
    response["Referrer-Policy"] = referrer_policy
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Django's request logger would print "Not Found: /survey/<token>/": the path is a secret.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _unavailable(request: HttpRequest, status: int, reason: str, **extra: Any) -> HttpResponse:
    response = render(
        request,
        "insights/survey_unavailable.html",
        {"reason": reason, **extra},
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(extra.get("retry_after", 60))
    return _private(response)


def _form_page(
    request: HttpRequest, invitation: SurveyInvitation, form: SurveyForm, status: int = 200
) -> HttpResponse:
    customer = invitation.customer
    context = {
        "form": form,
        "invitation": invitation,
        "name": customer.first_name or customer.name,
        "about": services.describe(invitation),
        "org_name": getattr(settings, "LOXODON_ORG_NAME", "Loxodon"),
        "satisfaction_labels": ("Very unhappy", "Very happy"),
        "effort_labels": ("Very little", "A great deal"),
    }
    page = render(request, "insights/survey_form.html", context, status=status)
    # strict-origin, not no-referrer: the form's POST must carry our Origin for the CSRF check;
    # not same-origin either, which sent this page's URL (the token) as the Referer of its own
    # style sheets and scripts, into any access log that records Referers
    return _private(page, referrer_policy="strict-origin")


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The survey for one link: the form (GET), the answers (POST, CSRF-protected)."""
    wait = guesses_exceeded(request, count_one=False)
    if wait is not None:
        return _unavailable(request, 429, "limited", retry_after=wait)
    try:
        invitation = services.invitation_for_token(token)
    except NotFound:
        wait = guesses_exceeded(request, count_one=True)
        if wait is not None:
            return _unavailable(request, 429, "limited", retry_after=wait)
        return _unavailable(request, 404, "unknown")
    except SurveyClosed as exc:
        return _unavailable(request, 410, str(exc.extra.get("reason", "answered")))
    if request.method != "POST":
        return _form_page(request, invitation, SurveyForm())
    form = SurveyForm(request.POST)
    if not form.is_valid():
        return _form_page(request, invitation, form, status=400)
    try:
        services.record_survey_response(token, form.answers())
    except SurveyClosed as exc:
        return _unavailable(request, 410, str(exc.extra.get("reason", "answered")))
    except InvalidInput as exc:
        form.add_error(None, exc.detail)
        return _form_page(request, invitation, form, status=400)
    return _private(redirect("survey:thanks"))


def thanks(request: HttpRequest) -> HttpResponse:
    context = {"org_name": getattr(settings, "LOXODON_ORG_NAME", "Loxodon")}
    return _private(render(request, "insights/survey_thanks.html", context))


# --- the desk: an agent sends a support survey after a call or chat ---------------------------


@desk_view
@require_POST
def send_support_survey(request: DeskRequest, customer_id: str) -> HttpResponse:
    """The desk button (`insights/survey_invite_button.html` on the customer page)."""
    customer = get_customer_for(request.user, customer_id)
    now = timezone.now()
    invitation = services.invite_to_survey(
        customer, Touchpoint.SUPPORT, actor=request.user, now=now
    )
    if invitation is None:
        reason = services.why_not_invitable(customer, Touchpoint.SUPPORT, now=now)
        messages.warning(request, f"No survey sent: {reason or 'try again later'}.")
    else:
        messages.success(request, "A support survey is on its way to the customer by email.")
    return redirect("desk:customer", customer_id=customer.pk)
