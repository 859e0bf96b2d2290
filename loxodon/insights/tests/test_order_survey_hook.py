"""A new order from another system invites the customer to a sales survey, once."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from loxodon.core.testing import Api, event
from loxodon.insights.models import SurveyInvitation

ORDER = {"order_number": "SO-1", "status": "paid", "lines": [{"product": "ProBook 450 G10"}]}


def test_an_order_through_the_api_invites_a_sales_survey_once(
    api: Api, customer: dict[str, Any]
) -> None:
    now = timezone.now().isoformat()
    body = event("so-1", kind="order", customer_id=customer["id"], payload=ORDER, occurred_at=now)
    for _ in range(3):  # replays invite nobody again
        assert api.post("/events", body).status_code in (200, 201)
    second = event("so-2", kind="order", customer_id=customer["id"], payload=ORDER, occurred_at=now)
    assert api.post("/events/batch", {"events": [second]}).status_code == 201  # within window

    invitations = SurveyInvitation.objects.filter(customer_id=customer["id"])
    assert [i.touchpoint for i in invitations] == ["sales"]


def test_an_old_order_imported_from_history_invites_nobody(
    api: Api, customer: dict[str, Any]
) -> None:
    body = event("so-old", kind="order", customer_id=customer["id"], payload=ORDER)
    assert api.post("/events", body).status_code == 201  # occurred 2026-11-20, days ago
    assert not SurveyInvitation.objects.exists()
