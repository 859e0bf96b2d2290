"""The portal's side of surveys: which invitations the signed-in customer may answer here.

The surveys themselves belong to the insights app (invitations after a confirmed resolution and
after a sales event, the `survey` event). A signed-in customer answers any of their own open
invitations, portal or email, without the link's token: their session proves who they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from loxodon.customers.models import Customer
from loxodon.insights.models import InvitationChannel, SurveyInvitation
from loxodon.insights.services import describe


@dataclass(frozen=True)
class OpenSurvey:
    invitation: SurveyInvitation
    about: str


def invitations_of(customer: Customer) -> QuerySet[SurveyInvitation]:
    """Every invitation of this customer (the scope `own_or_404` looks in)."""
    return SurveyInvitation.objects.filter(customer=customer).select_related(
        "customer", "case", "about_event"
    )


def open_surveys(customer: Customer, *, now: datetime | None = None) -> list[OpenSurvey]:
    """Invitations the customer can still answer (portal or email; not used, not expired)."""
    now = now or timezone.now()
    invitations = (
        invitations_of(customer)
        .filter(
            channel__in=[InvitationChannel.PORTAL, InvitationChannel.EMAIL],
            used_at__isnull=True,
            expires_at__gt=now,
        )
        .order_by("-invited_at")
    )
    return [OpenSurvey(invitation=i, about=describe(i)) for i in invitations]


def answered_surveys(customer: Customer, *, limit: int = 10) -> list[OpenSurvey]:
    invitations = (
        invitations_of(customer).filter(used_at__isnull=False).order_by("-used_at")[:limit]
    )
    return [OpenSurvey(invitation=i, about=describe(i)) for i in invitations]
