"""Surveys per touchpoint (sales, service, support): every write, one function per verb.

- `invite_to_survey` — at most one invitation per touchpoint per customer per window
  (`LOXODON_SURVEY_WINDOW_DAYS`, default 30); records a `survey_invited` event; email
  invitations are sent by the worker (`tasks.send_survey_invitation`, enqueued on commit).
- `send_invitation` — the worker's job: makes the link's token, stores only its SHA-256, and
  sends one plain-text email from the organisation (at most once: the stored digest is the
  claim).
- `record_survey_response` — checks the link, marks the invitation used with one conditional
  UPDATE (a second or concurrent submit finds it used: 410) and writes the `survey` event through
  `ingest_events` (source "survey", external id = invitation id: a replay is one event).
- Triggers, called explicitly: `invite_after_resolution` (cases.confirm_resolution, on commit),
  `invite_after_orders` (timeline ingest of orders); support surveys are sent by staff (API,
  desk).

Links are `<LOXODON_PUBLIC_URL>/survey/<token>/`, the token 256 random bits. Tokens are never
logged, stored or put in task arguments.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from loxodon.cases.models import Case
from loxodon.core.errors import DomainError, InvalidInput, NotFound
from loxodon.core.event_types import KINDS, Channel
from loxodon.customers.models import Customer, Identity, IdentityKind
from loxodon.insights import events, tasks
from loxodon.insights.models import InvitationChannel, SurveyInvitation, Touchpoint
from loxodon.org.models import User
from loxodon.timeline.models import Event
from loxodon.timeline.services import EventDraft, ingest_events

log = logging.getLogger(__name__)

SURVEY_SOURCE = "survey"
TOKEN_BYTES = 32  # 256 bits; the link carries it base64url-encoded (43 characters)
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
ORDER_STATUSES_TO_SURVEY = ("placed", "paid", "delivered")
SMTP_TIMEOUT_SECONDS = 30


class SurveyClosed(DomainError):
    """The link was real but can no longer be used (answered or expired)."""

    status_code = 410


@dataclass(frozen=True)
class SurveyAnswers:
    """What the customer answered; ranges are checked by the `survey` payload schema."""

    satisfaction: int
    effort: int
    intent: str
    comment: str = ""


# --- settings (read when used, never at import) ------------------------------------------------


def window_days() -> int:
    return int(getattr(settings, "LOXODON_SURVEY_WINDOW_DAYS", 30))


def expiry_days() -> int:
    return int(getattr(settings, "LOXODON_SURVEY_EXPIRY_DAYS", 14))


def order_max_age_days() -> int:
    return int(getattr(settings, "LOXODON_SURVEY_ORDER_MAX_AGE_DAYS", 3))


def survey_url(token: str) -> str:
    base = str(getattr(settings, "LOXODON_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")
    return f"{base}/survey/{token}/"


def _org_name() -> str:
    return str(getattr(settings, "LOXODON_ORG_NAME", "Loxodon"))


# --- tokens -------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def invitation_for_token(token: str, *, now: datetime | None = None) -> SurveyInvitation:
    """The invitation a link names, if it can still be answered.

    Unknown (or malformed) → NotFound; answered or expired → SurveyClosed (410)."""
    now = now or timezone.now()
    if not TOKEN_PATTERN.fullmatch(token or ""):
        raise NotFound("this survey link is not valid")
    invitation = (
        SurveyInvitation.objects.select_related("customer", "case", "about_event")
        .filter(token_digest=token_digest(token))
        .first()
    )
    if invitation is None:
        raise NotFound("this survey link is not valid")
    if invitation.is_used():
        raise SurveyClosed("this survey has already been answered", reason="answered")
    if invitation.is_expired(now):
        raise SurveyClosed("this survey link has expired", reason="expired")
    return invitation


# --- what the survey is about -----------------------------------------------------------------

_GENERIC_ABOUT = {
    Touchpoint.SALES: "your recent purchase",
    Touchpoint.SERVICE: "our recent service",
    Touchpoint.SUPPORT: "your recent contact with our support team",
}


def describe(invitation: SurveyInvitation) -> str:
    """What the survey is about, in the customer's words ("your case 'Laptop will not…'")."""
    if invitation.case is not None:
        return f"your case '{invitation.case.title}'"
    event = invitation.about_event
    if event is not None:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.kind == "order" and payload.get("order_number"):
            return f"your order {payload['order_number']}"
        label = KINDS[event.kind].label.lower() if event.kind in KINDS else event.kind
        return f"your {label} of {timezone.localtime(event.occurred_at):%d %B %Y}"
    return _GENERIC_ABOUT.get(Touchpoint(invitation.touchpoint), "your recent contact with us")


def _customer_email(customer_id: uuid.UUID) -> str | None:
    """The customer's best email: a verified one first, else the most recent unverified."""
    value: str | None = (
        Identity.objects.filter(customer_id=customer_id, kind=IdentityKind.EMAIL)
        .order_by("-verified", "-created_at")
        .values_list("value", flat=True)
        .first()
    )
    return value


# --- invitations ------------------------------------------------------------------------------


def why_not_invitable(
    customer: Customer, touchpoint: str, *, channel: str = InvitationChannel.EMAIL, now: datetime
) -> str | None:
    """Why no invitation may be sent now (None: it may)."""
    if channel == InvitationChannel.EMAIL and _customer_email(customer.pk) is None:
        return "the customer has no email address"
    since = now - timedelta(days=window_days())
    if SurveyInvitation.objects.filter(
        customer=customer, touchpoint=touchpoint, invited_at__gt=since
    ).exists():
        return (
            f"the customer was already invited to a {touchpoint} survey in the last "
            f"{window_days()} days"
        )
    return None


@transaction.atomic
def invite_to_survey(
    customer: Customer,
    touchpoint: str,
    *,
    case: Case | None = None,
    about_event: Event | None = None,
    channel: str = InvitationChannel.EMAIL,
    actor: User | None = None,
    now: datetime | None = None,
) -> SurveyInvitation | None:
    """Invite the customer to tell us how a touchpoint went.

    None (nothing written) when the customer was invited about this touchpoint within the
    window, or has no email address for an email invitation. A portal invitation carries its
    token in `invitation.token` (returned once, never stored); an email invitation gets its
    token when the worker sends it.
    """
    if touchpoint not in Touchpoint.values:
        raise InvalidInput(f"touchpoint must be one of: {', '.join(Touchpoint.values)}")
    if channel not in InvitationChannel.values:
        raise InvalidInput(f"channel must be one of: {', '.join(InvitationChannel.values)}")
    if case is not None and case.customer_id != customer.pk:
        raise InvalidInput("the case belongs to another customer")
    if about_event is not None and about_event.customer_id != customer.pk:
        raise InvalidInput("the event is on another customer's timeline")
    now = now or timezone.now()
    # One invitation at a time per customer: the window check and the insert are serialised.
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk").first()
    if why_not_invitable(customer, touchpoint, channel=channel, now=now) is not None:
        return None
    invitation = SurveyInvitation(
        customer=customer,
        touchpoint=touchpoint,
        case=case,
        about_event=about_event,
        channel=channel,
        invited_at=now,
        expires_at=now + timedelta(days=expiry_days()),
    )
    token = None
    if channel == InvitationChannel.PORTAL:
        token, invitation.token_digest = _new_token()
    invitation.save()
    invitation.token = token
    events.survey_invited(invitation, describe(invitation), actor)
    if channel == InvitationChannel.EMAIL:
        invitation_id = str(invitation.pk)
        # robust: a queue that is down must not undo the invitation (send it again later)
        transaction.on_commit(
            lambda: tasks.send_survey_invitation.enqueue(invitation_id), robust=True
        )
    return invitation


def invite_after_resolution(case_id: uuid.UUID) -> SurveyInvitation | None:
    """After the customer confirmed their case resolved: a service survey about that case."""
    case = Case.objects.select_related("customer").filter(pk=case_id).first()
    if case is None:
        return None
    return invite_to_survey(case.customer, Touchpoint.SERVICE, case=case)


def invite_after_orders(
    new_events: Iterable[Event], *, now: datetime | None = None
) -> list[SurveyInvitation]:
    """Sales surveys for newly stored orders (call on commit of an ingest).

    Only orders placed, paid or delivered in the last `LOXODON_SURVEY_ORDER_MAX_AGE_DAYS`
    (default 3) count, so importing a history does not survey anyone; one invitation per
    customer and window whatever the number of orders.
    """
    now = now or timezone.now()
    oldest = now - timedelta(days=order_max_age_days())
    orders: dict[uuid.UUID, Event] = {}
    for event in new_events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if (
            event.kind == "order"
            and payload.get("status", "placed") in ORDER_STATUSES_TO_SURVEY
            and oldest <= event.occurred_at <= now
        ):
            orders.setdefault(event.customer_id, event)
    customers = Customer.objects.in_bulk(list(orders))
    invited = []
    for customer_id, order in orders.items():
        customer = customers.get(customer_id)
        if customer is None:
            continue
        invitation = invite_to_survey(customer, Touchpoint.SALES, about_event=order, now=now)
        if invitation is not None:
            invited.append(invitation)
    return invited


# --- sending (the worker) ---------------------------------------------------------------------


def _email_text(invitation: SurveyInvitation, token: str) -> tuple[str, str]:
    customer = invitation.customer
    name = customer.first_name or customer.name
    about = describe(invitation)
    org = _org_name()
    subject = f"How did we do? A minute about {about}"
    body = (
        f"Dear {name},\n\n"
        f"Thank you for choosing {org}. Would you tell us how {about} went? "
        "Four short questions, about a minute:\n\n"
        f"    {survey_url(token)}\n\n"
        f"The link is yours alone: it works once, until "
        f"{timezone.localtime(invitation.expires_at):%d %B %Y}. If you would rather not "
        "answer, simply ignore this email; we will not remind you.\n\n"
        f"-- \n{org}\n"
    )
    return subject, body


def _record_send_failure(invitation_id: uuid.UUID, reason: str) -> None:
    """Free the claim (a later run may try again with a new token) and say why."""
    SurveyInvitation.objects.filter(pk=invitation_id, sent_at__isnull=True).update(
        token_digest="", send_error=reason[:500], updated_at=timezone.now()
    )


def send_invitation(invitation_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Send one email invitation (the worker's job); True when it went out.

    The token is made here and only its digest stored; setting the digest is the claim, so a
    second run (or worker) sends nothing. Answered, expired, portal or already sent
    invitations are skipped.
    """
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("customer", "case", "about_event")
            .filter(pk=invitation_id)
            .first()
        )
        if (
            invitation is None
            or invitation.channel != InvitationChannel.EMAIL
            or invitation.token_digest
            or invitation.sent_at is not None
            or not invitation.can_answer(now)
        ):
            return False
        to = _customer_email(invitation.customer_id)
        if to is None:
            invitation.send_error = "the customer has no email address"
            invitation.save(update_fields=["send_error", "updated_at"])
            return False
        token, invitation.token_digest = _new_token()
        invitation.save(update_fields=["token_digest", "updated_at"])
    subject, body = _email_text(invitation, token)
    support = str(settings.LOXODON_SUPPORT_EMAIL)
    mail = EmailMessage(
        subject=subject,
        body=body,
        from_email=formataddr((_org_name(), support)),
        to=[to],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    try:
        timeout = settings.EMAIL_TIMEOUT or SMTP_TIMEOUT_SECONDS
        get_connection(fail_silently=False, timeout=timeout).send_messages([mail])
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        reason = f"could not send the survey invitation: {type(exc).__name__}: {exc}"
        log.warning("survey invitation %s not sent: %s", invitation_id, type(exc).__name__)
        _record_send_failure(invitation_id, reason)
        return False
    SurveyInvitation.objects.filter(pk=invitation_id).update(
        sent_at=timezone.now(), send_error="", updated_at=timezone.now()
    )
    return True


# --- responses --------------------------------------------------------------------------------


def _summary(touchpoint: str, answers: SurveyAnswers) -> str:
    return (
        f"Survey ({touchpoint}): satisfaction {answers.satisfaction}/5, effort "
        f"{answers.effort}/7, would buy again: {answers.intent}"
    )


def record_survey_response(
    token: str, answers: SurveyAnswers, *, now: datetime | None = None
) -> Event:
    """The customer's answers: one `survey` event; the link is used up.

    Unknown link → NotFound (404); answered or expired → SurveyClosed (410); answers out of
    range → InvalidInput (400). Nothing is written unless everything succeeds.
    """
    now = now or timezone.now()
    invitation = invitation_for_token(token, now=now)
    return _record_response(invitation, answers, now)


def record_portal_survey_response(
    customer: Customer,
    invitation_id: uuid.UUID,
    answers: SurveyAnswers,
    *,
    now: datetime | None = None,
) -> Event:
    """A signed-in portal customer's answers, without the link's token: their portal session
    proves who they are, so any of their own invitations (portal or email) may be answered.

    Another customer's (or no) invitation → NotFound; answered or expired → SurveyClosed (410);
    answers out of range → InvalidInput. Same event and claim as `record_survey_response`.
    """
    now = now or timezone.now()
    invitation = (
        SurveyInvitation.objects.select_related("customer", "case", "about_event")
        .filter(pk=invitation_id, customer=customer)
        .first()
    )
    if invitation is None:
        raise NotFound("no such survey")
    if invitation.is_used():
        raise SurveyClosed("this survey has already been answered", reason="answered")
    if invitation.is_expired(now):
        raise SurveyClosed("this survey has expired", reason="expired")
    return _record_response(invitation, answers, now)


def _record_response(invitation: SurveyInvitation, answers: SurveyAnswers, now: datetime) -> Event:
    payload: dict[str, object] = {
        "touchpoint": invitation.touchpoint,
        "satisfaction": answers.satisfaction,
        "effort": answers.effort,
        "intent": answers.intent,
        "comment": answers.comment.strip(),
        "invitation_id": str(invitation.pk),
    }
    if invitation.case_id:
        payload["case_id"] = str(invitation.case_id)
    if invitation.about_event_id:
        payload["about_event_id"] = str(invitation.about_event_id)
    draft = EventDraft(
        source=SURVEY_SOURCE,
        external_id=str(invitation.pk),
        channel=Channel.EMAIL if invitation.channel == InvitationChannel.EMAIL else Channel.WEB,
        kind="survey",
        occurred_at=now,
        summary=_summary(invitation.touchpoint, answers),
        body=answers.comment.strip(),
        payload=payload,
        customer_id=invitation.customer_id,
        case_id=invitation.case_id,
    )
    with transaction.atomic():
        # The claim: only one submit can move used_at from NULL (a concurrent one waits for
        # our row lock, then matches nothing).
        claimed = SurveyInvitation.objects.filter(
            pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now, updated_at=now)
        if not claimed:
            raise SurveyClosed("this survey has already been answered", reason="answered")
        [result] = ingest_events([draft], indexed=False)
        SurveyInvitation.objects.filter(pk=invitation.pk).update(response_event=result.event)
    return result.event
