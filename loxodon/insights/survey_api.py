"""Surveys API (`/api/v1/surveys/`): invitations (staff) and responses (public, for a portal or
app that shows its own form). Thin: validate → access → one service call."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

from loxodon.cases.selectors import get_case_for
from loxodon.core.errors import Conflict, DomainError, NotFound
from loxodon.core.schemas import ApiRequest, ErrorOut, StrictIn
from loxodon.customers.selectors import get_customer_for
from loxodon.insights import services
from loxodon.insights.models import SurveyInvitation
from loxodon.insights.services import SurveyAnswers
from loxodon.insights.survey_views import guesses_exceeded
from loxodon.timeline.models import Event

router = Router(tags=["surveys"])

MAX_LISTED = 200


class InvitationIn(StrictIn):
    customer_id: uuid.UUID
    touchpoint: Literal["sales", "service", "support"]
    case_id: uuid.UUID | None = None
    about_event_id: uuid.UUID | None = Field(
        default=None, description="an event on the customer's timeline, e.g. the order"
    )
    channel: Literal["email", "portal"] = "email"


class InvitationOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    touchpoint: str
    channel: str
    about: str
    case_id: uuid.UUID | None
    about_event_id: uuid.UUID | None
    status: Literal["waiting", "sent", "answered", "expired"]
    invited_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    used_at: datetime | None
    response_event_id: uuid.UUID | None
    send_error: str
    survey_url: str | None = Field(
        default=None,
        description="portal invitations only, in the answer that creates them (never again)",
    )


class AnswersIn(StrictIn):
    satisfaction: int = Field(strict=True, ge=1, le=5, description="1 very unhappy … 5 very happy")
    effort: int = Field(strict=True, ge=1, le=7, description="1 very easy … 7 very hard")
    intent: Literal["yes", "maybe", "no"] = Field(description="would buy from us again")
    comment: str = Field(default="", max_length=2000)


class ResponseOut(Schema):
    event_id: uuid.UUID
    touchpoint: str


def _status(invitation: SurveyInvitation, now: datetime) -> str:
    if invitation.used_at is not None:
        return "answered"
    if invitation.is_expired(now):
        return "expired"
    return "sent" if invitation.sent_at is not None else "waiting"


def _out(invitation: SurveyInvitation, now: datetime) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "customer_id": invitation.customer_id,
        "touchpoint": invitation.touchpoint,
        "channel": invitation.channel,
        "about": services.describe(invitation),
        "case_id": invitation.case_id,
        "about_event_id": invitation.about_event_id,
        "status": _status(invitation, now),
        "invited_at": invitation.invited_at,
        "expires_at": invitation.expires_at,
        "sent_at": invitation.sent_at,
        "used_at": invitation.used_at,
        "response_event_id": invitation.response_event_id,
        "send_error": invitation.send_error,
        "survey_url": services.survey_url(invitation.token) if invitation.token else None,
    }


@router.get("/invitations", response=list[InvitationOut])
def list_invitations(request: ApiRequest, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    """A customer's survey invitations, newest first (staff)."""
    customer = get_customer_for(request.auth, customer_id)
    invitations = (
        SurveyInvitation.objects.filter(customer=customer)
        .select_related("case", "about_event")
        .order_by("-invited_at", "-id")[:MAX_LISTED]
    )
    now = timezone.now()
    return [_out(i, now) for i in invitations]


@router.post("/invitations", response={201: InvitationOut, 409: ErrorOut})
def create_invitation(request: ApiRequest, data: InvitationIn) -> Status[dict[str, Any]]:
    """Invite a customer to a survey (e.g. a support survey after a call or chat).

    409 when they were invited about this touchpoint within the window, or have no email
    address for an email invitation."""
    customer = get_customer_for(request.auth, data.customer_id)
    case = get_case_for(request.auth, data.case_id) if data.case_id else None
    about_event = None
    if data.about_event_id:
        about_event = Event.objects.filter(pk=data.about_event_id, customer=customer).first()
        if about_event is None:
            raise NotFound(f"no event '{data.about_event_id}' on this customer's timeline")
    now = timezone.now()
    invitation = services.invite_to_survey(
        customer,
        data.touchpoint,
        case=case,
        about_event=about_event,
        channel=data.channel,
        actor=request.auth,
        now=now,
    )
    if invitation is None:
        reason = services.why_not_invitable(
            customer, data.touchpoint, channel=data.channel, now=now
        )
        raise Conflict(f"not invited: {reason or 'try again'}")
    return Status(201, _out(invitation, now))


def _quiet(body: dict[str, Any], status: int, retry_after: int | None = None) -> HttpResponse:
    """An error answer that Django's request log does not print (the path holds the token)."""
    response = JsonResponse(body, status=status)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@router.post(
    "/{token}/responses",
    auth=None,
    response={201: ResponseOut, 404: ErrorOut, 410: ErrorOut, 429: ErrorOut},
)
def answer_survey(request: HttpRequest, token: str, data: AnswersIn) -> Any:
    """The customer's answers for one survey link (public: the token is the credential).

    404 unknown link, 410 already answered or expired, 429 too many unknown links from this
    address. The answers become one `survey` event on the customer's timeline."""
    wait = guesses_exceeded(request, count_one=False)
    if wait is not None:
        return _quiet({"detail": "too many unknown survey links: try later"}, 429, wait)
    answers = SurveyAnswers(
        satisfaction=data.satisfaction, effort=data.effort, intent=data.intent, comment=data.comment
    )
    try:
        event = services.record_survey_response(token, answers)
    except NotFound as exc:
        wait = guesses_exceeded(request, count_one=True)
        if wait is not None:
            return _quiet({"detail": "too many unknown survey links: try later"}, 429, wait)
        return _quiet({"detail": exc.detail}, 404)
    except DomainError as exc:
        return _quiet({"detail": exc.detail, **exc.extra}, exc.status_code)
    return Status(201, {"event_id": event.pk, "touchpoint": event.payload["touchpoint"]})
