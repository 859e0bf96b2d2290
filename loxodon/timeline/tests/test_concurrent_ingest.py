"""Duplicate deliveries racing each other on a real database still yield one event."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from loxodon.core.testing import Api, event
from loxodon.timeline.models import Event


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_concurrently_is_stored_once(
    api: Api, customer: dict[str, Any]
) -> None:
    body = event("race-1", customer_id=customer["id"])
    batch = {"events": [event(f"race-b{n}", customer_id=customer["id"]) for n in range(50)]}
    statuses: list[int] = []
    ids: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def deliver(single: bool) -> None:
        try:
            start.wait()
            response = api.post("/events", body) if single else api.post("/events/batch", batch)
            with lock:
                statuses.append(response.status_code)
                if single:
                    ids.append(response.json()["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(n % 2 == 0,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses).count(201) == 2  # one single, one batch created; the rest repeats
    assert set(statuses) <= {200, 201}
    assert len(set(ids)) == 1
    assert Event.objects.filter(external_id="race-1").count() == 1
    assert Event.objects.filter(external_id__startswith="race-b").count() == 50
