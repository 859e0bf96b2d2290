"""A new order from another system invites the customer to a sales survey, once — as a
background job, so ingest never waits for it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from loxodon.core.testing import Api, event
from loxodon.insights.models import SurveyInvitation

ORDER = {"order_number": "SO-1", "status": "paid", "lines": [{"product": "ProBook 450 G10"}]}


def _run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@pytest.mark.django_db(transaction=True)  # real commits: the job is enqueued on commit
def test_an_order_through_the_api_invites_a_sales_survey_once(
    api: Api, customer: dict[str, Any]
) -> None:
    now = timezone.now().isoformat()
    body = event("so-1", kind="order", customer_id=customer["id"], payload=ORDER, occurred_at=now)
    second = event("so-2", kind="order", customer_id=customer["id"], payload=ORDER, occurred_at=now)
    for _ in range(3):  # replays invite nobody again
        assert api.post("/events", body).status_code in (200, 201)
    assert api.post("/events/batch", {"events": [second]}).status_code == 201
    assert not SurveyInvitation.objects.exists()  # nothing waited for the survey

    _run_worker()

    invitations = SurveyInvitation.objects.filter(customer_id=customer["id"])
    assert [i.touchpoint for i in invitations] == ["sales"]  # one per window


@pytest.mark.django_db(transaction=True)
def test_an_old_order_imported_from_history_invites_nobody(
    api: Api, customer: dict[str, Any]
) -> None:
    body = event("so-old", kind="order", customer_id=customer["id"], payload=ORDER)
    assert api.post("/events", body).status_code == 201  # occurred days ago
    _run_worker()
    assert not SurveyInvitation.objects.exists()
