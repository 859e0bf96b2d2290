"""Webhook redelivery under concurrency (issue 10, item 14): every step of a call delivered five
times, shuffled (the end before the start), from parallel connections, is one call event with
four steps, exactly as one in-order delivery would leave it."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from loxodon.channels.voice.models import Call, CallStep, VoiceIntegration
from loxodon.channels.voice.tests.deliveries import Pbx, ended, ivr, routed, started
from loxodon.timeline.models import Event

COPIES = 5
SENDERS = 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2])
def test_each_step_five_times_concurrently_and_out_of_order_is_one_call(
    integration: VoiceIntegration, customer: dict[str, Any], seed: int
) -> None:
    rng = random.Random(seed)
    rest = [step() for step in (started, ivr) for _ in range(COPIES)] + [
        step() for step in (routed, ended) for _ in range(COPIES - 2)
    ]
    rng.shuffle(rest)
    # The end and the routing go out first, twice each, before any start; the rest shuffled.
    deliveries = [ended(), routed(), ended(), routed(), *rest]
    assert set(Counter(d["id"] for d in deliveries).values()) == {COPIES}
    queue = list(deliveries)
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(SENDERS)

    def sender() -> None:
        pbx = Pbx(integration)  # its own HTTP client and, in this thread, its own connection
        try:
            barrier.wait(timeout=30)
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop(0)
                response = pbx.send(body)
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code not in (200, 201):
                        problems.append(
                            f"{body['id']}: {response.status_code} {response.content!r}"
                        )
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not problems, problems[:5]
    assert sum(statuses.values()) == len(deliveries)
    assert statuses[201] == 4, statuses  # one acceptance per distinct delivery id
    (event,) = Event.objects.filter(kind="call")
    assert event.customer_id is not None and str(event.customer_id) == customer["id"]
    assert event.payload["status"] == "ended"
    assert [s["type"] for s in event.payload["steps"]] == [
        "call.started",
        "ivr.completed",
        "call.routed",
        "call.ended",
    ]
    assert CallStep.objects.count() == 4 and Call.objects.count() == 1
    print(  # figures for docs/reliability.md
        f"\nvoice redelivery (seed {seed}): {len(deliveries)} deliveries of 4 steps from "
        f"{SENDERS} parallel senders -> 1 call event, 4 steps, statuses {dict(statuses)}"
    )
