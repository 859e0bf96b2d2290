"""Background jobs of the insights app (run by `loxodon db_worker`)."""

from __future__ import annotations

import uuid

from django_tasks import task


@task()
def send_survey_invitation(invitation_id: str) -> bool:
    """Send one survey invitation email. The argument is the invitation's id, never the
    token: task arguments are stored in the database."""
    from loxodon.insights.services import send_invitation  # services enqueue this task

    return send_invitation(uuid.UUID(invitation_id))


@task()
def survey_after_resolution(case_id: str) -> str | None:
    """A service survey about a case the customer confirmed resolved (enqueued on commit by
    `cases.services.confirm_resolution`): the confirmation never waits for, or fails with, the
    invitation, and a bulk load (the demo) only queues jobs."""
    from loxodon.insights.services import invite_after_resolution

    invitation = invite_after_resolution(uuid.UUID(case_id))
    return str(invitation.pk) if invitation is not None else None


@task()
def surveys_after_orders(event_ids: list[str]) -> int:
    """Sales surveys for orders just stored through the events API (enqueued on commit, once
    per request): ingest never waits for, or fails with, the invitations."""
    from loxodon.insights.services import invite_after_orders
    from loxodon.timeline.models import Event

    return len(invite_after_orders(Event.objects.filter(pk__in=event_ids)))
