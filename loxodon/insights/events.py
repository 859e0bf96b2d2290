"""The timeline events the insights app writes itself: a survey invitation.

A survey *response* is not written here: it goes through `timeline.services.ingest_events`
(source "survey", external id = the invitation id) like a survey from any other system, so the
same payload schema (`timeline.transactions.SurveyPayload`) checks both.
"""

from __future__ import annotations

from loxodon.core.event_types import Channel
from loxodon.insights.models import InvitationChannel, SurveyInvitation
from loxodon.org.models import User
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event


def survey_invited(invitation: SurveyInvitation, about: str, actor: User | None) -> Event:
    """The customer was invited to a survey (never the link: it is a secret)."""
    channel = Channel.EMAIL if invitation.channel == InvitationChannel.EMAIL else Channel.WEB
    payload: dict[str, str] = {
        "invitation_id": str(invitation.pk),
        "touchpoint": invitation.touchpoint,
        "channel": invitation.channel,
        "expires_at": invitation.expires_at.isoformat(),
    }
    if invitation.case_id:
        payload["case_id"] = str(invitation.case_id)
    if invitation.about_event_id:
        payload["about_event_id"] = str(invitation.about_event_id)
    return record_event(
        customer_id=invitation.customer_id,
        case_id=invitation.case_id,
        kind="survey_invited",
        channel=channel,
        actor=actor,
        summary=f"Survey invitation ({invitation.touchpoint}) about {about}",
        payload=payload,
        occurred_at=invitation.invited_at,
    )
