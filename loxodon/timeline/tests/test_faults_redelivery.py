"""Redelivery over real HTTP (issue 10, item 14): every event delivered five times, shuffled
among the others, from parallel connections to a live server, is stored exactly once, and
every copy is answered with that one event."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from loxodon.core.testing import event
from loxodon.desk.tests.browser import LiveServer
from loxodon.org.models import User
from loxodon.org.services import create_api_token
from loxodon.timeline.models import Event

COPIES = 5
DISTINCT = 12
SENDERS = 8


@pytest.fixture
def live_api(transactional_db: None, agent: User) -> Iterator[tuple[str, str]]:
    server = LiveServer()
    server.start()
    yield server.url, create_api_token(username=agent.username)
    server.stop()


def test_each_event_five_times_shuffled_and_concurrent_is_stored_once(
    live_api: tuple[str, str], customer: dict[str, Any]
) -> None:
    url, token = live_api
    bodies = {
        f"redeliver-{n}": event(f"redeliver-{n}", customer_id=customer["id"], body=f"#{n}")
        for n in range(DISTINCT)
    }
    deliveries = [key for key in bodies for _ in range(COPIES)]
    random.Random(14).shuffle(deliveries)  # copies of one event interleaved with the others
    queue = list(deliveries)
    answers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    problems: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(SENDERS)

    def sender() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            barrier.wait(timeout=30)
            while True:
                with lock:
                    if not queue:
                        return
                    key = queue.pop(0)
                r = http.post("/api/v1/events", json=bodies[key])
                with lock:
                    if r.status_code in (200, 201):
                        answers[key].append((r.status_code, r.json()["id"]))
                    else:
                        problems.append(f"{key}: {r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not problems, problems[:5]
    for key, got in answers.items():
        statuses = Counter(status for status, _ in got)
        assert statuses == {201: 1, 200: COPIES - 1}, (key, statuses)
        assert len({event_id for _, event_id in got}) == 1, key  # every copy names one event
    stored = Counter(
        Event.objects.filter(source="test", external_id__startswith="redeliver-").values_list(
            "external_id", flat=True
        )
    )
    assert stored == dict.fromkeys(bodies, 1)
    print(  # figures for docs/reliability.md
        f"\nHTTP redelivery: {len(deliveries)} deliveries ({DISTINCT} events x {COPIES}, "
        f"shuffled) from {SENDERS} parallel connections -> {sum(stored.values())} events"
    )
