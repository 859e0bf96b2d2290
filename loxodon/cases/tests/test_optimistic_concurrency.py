"""Optimistic concurrency on cases (issue 10, item 16): a change made to the version a client
read either wins or is refused with 409 and the current case; no update is lost, and the
case's audit trail (its timeline) has one entry per version, with no gaps."""

from __future__ import annotations

import json
import threading
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from loxodon.cases.models import Case
from loxodon.core.testing import Api
from loxodon.org.services import create_api_token
from loxodon.timeline.models import Event

CLIENTS = 50
ROUNDS = 4
OTHER = {"waiting_on_customer": "us", "waiting_on_us": "customer", "open": "customer"}


def _open_case(api: Api, customer: dict[str, Any]) -> dict[str, Any]:
    body = {"customer_id": customer["id"], "problem": "The fridge is warm", "owner": "ann"}
    response = api.post("/cases", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def _waiting(
    client: Client, case_id: str, on: str, version: int | None, *, header: bool = False
) -> Any:
    body: dict[str, Any] = {"on": on, "reason": "concurrency test"}
    headers = {}
    if header and version is not None:
        headers["If-Match"] = f'"{version}"'
    elif version is not None:
        body["version"] = version
    return client.post(
        f"/api/v1/cases/{case_id}/waiting",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_updates_one_wins_per_version_and_the_trail_has_no_gaps(
    api: Api, customer: dict[str, Any]
) -> None:
    case = _open_case(api, customer)
    start_version = case["version"]
    token = create_api_token(username="ann")
    outcomes: list[tuple[int, int, int]] = []  # (round, status, version in the answer)
    problems: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def client_loop(n: int) -> None:
        client = Client(headers={"Authorization": f"Bearer {token}"})
        try:
            read = client.get(f"/api/v1/cases/{case['id']}")
            state = read.json()
            if read["ETag"] != f'"{state["version"]}"':
                problems.append(f"ETag {read['ETag']} for version {state['version']}")
            for round_no in range(ROUNDS):
                barrier.wait(timeout=60)  # everyone has read; now all write at once
                if state is None:
                    continue  # this client won an earlier round: it watches the rest
                answer = _waiting(
                    client, case["id"], OTHER[state["status"]], state["version"], header=n % 2 == 1
                )
                body = answer.json()
                if answer.status_code == 200:
                    with lock:
                        outcomes.append((round_no, 200, body["version"]))
                    state = None
                elif answer.status_code == 409:
                    current = body["case"]
                    if current["version"] != body["current_version"]:
                        problems.append(f"409 body disagrees with itself: {body}")
                    with lock:
                        outcomes.append((round_no, 409, current["version"]))
                    state = current  # the client reviews the current case and tries again
                else:
                    problems.append(f"unexpected {answer.status_code}: {body}")
                    state = None
        except Exception as exc:  # reported below, not swallowed
            problems.append(f"client {n}: {exc!r}")
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not problems, problems[:5]

    for round_no in range(ROUNDS):
        answers = [(status, v) for r, status, v in outcomes if r == round_no]
        statuses = Counter(status for status, _ in answers)
        # One winner per version; every other client of that round was refused and shown
        # the case at exactly the winner's version (nothing silently overwritten).
        assert statuses == {200: 1, 409: CLIENTS - round_no - 1}, (round_no, statuses)
        assert {v for _, v in answers} == {start_version + round_no + 1}

    final = Case.objects.get(pk=case["id"])
    assert final.version == start_version + ROUNDS
    # The audit trail: one status change per accepted update, each starting where the one
    # before ended (no gap, no duplicate, no lost update).
    trail = list(
        Event.objects.filter(case_id=case["id"], kind="status_change")
        .order_by("recorded_at", "id")
        .values_list("payload", flat=True)
    )
    changes = [(p["from"], p["to"]) for p in trail if "from" in p]  # not the owner entry
    assert len(changes) == ROUNDS, changes
    assert changes[0][0] == "open" and changes[-1][1] == final.status
    for before, after in pairwise(changes):
        assert before[1] == after[0], changes
    print(  # figures for docs/reliability.md
        f"\noptimistic concurrency: {len(outcomes)} updates from {CLIENTS} clients, "
        f"{sum(1 for o in outcomes if o[1] == 200)} won, {sum(1 for o in outcomes if o[1] == 409)} "
        "refused with the current case, 0 lost"
    )


@pytest.mark.django_db
def test_the_version_is_optional_checked_when_sent_and_refused_when_malformed(
    api: Api, customer: dict[str, Any]
) -> None:
    case = _open_case(api, customer)
    v = case["version"]
    # Without a version (older integrations) the change applies to the current case.
    plain = _waiting(api.client, case["id"], "customer", None)
    assert plain.status_code == 200 and plain.json()["version"] == v + 1
    # A stale version in the body or in If-Match: 409, nothing written, the current case shown.
    for header in (False, True):
        stale = _waiting(api.client, case["id"], "us", v, header=header)
        assert stale.status_code == 409, stale.content
        body = stale.json()
        assert "changed since you read it" in body["detail"]
        assert body["current_version"] == v + 1 and body["case"]["status"] == "waiting_on_customer"
    assert Case.objects.get(pk=case["id"]).version == v + 1
    # The ETag of GET /cases/{id} is the version to send back.
    etag = api.client.get(f"/api/v1/cases/{case['id']}")["ETag"]
    assert etag == f'"{v + 1}"'
    fresh = api.client.post(
        f"/api/v1/cases/{case['id']}/notes",
        json.dumps({"body": "checked the wiring"}),
        content_type="application/json",
        headers={"If-Match": etag},
    )
    assert fresh.status_code == 201
    # Malformed or contradictory versions are a clear 400 / 422.
    bad = api.client.post(
        f"/api/v1/cases/{case['id']}/notes",
        json.dumps({"body": "x"}),
        content_type="application/json",
        headers={"If-Match": "yesterday"},
    )
    assert bad.status_code == 400 and "If-Match" in bad.json()["detail"]
    both = api.client.post(
        f"/api/v1/cases/{case['id']}/notes",
        json.dumps({"body": "x", "version": v + 2}),
        content_type="application/json",
        headers={"If-Match": f'"{v + 1}"'},
    )
    assert both.status_code == 400 and "disagree" in both.json()["detail"]
    zero = api.post(f"/cases/{case['id']}/notes", {"body": "x", "version": 0})
    assert zero.status_code == 422


@pytest.mark.django_db
def test_the_desk_refuses_to_close_a_case_that_changed_since_the_page_was_read(
    api: Api, customer: dict[str, Any], agent: Any
) -> None:
    from django.contrib.messages import get_messages

    from loxodon.core.testing import signed_in

    case = _open_case(api, customer)
    desk = signed_in(agent)
    page = desk.get(f"/desk/cases/{case['id']}/")
    assert f'name="version" value="{case["version"]}"' in page.content.decode()
    # Meanwhile the customer answers: the case is waiting on us now (version + 1).
    assert _waiting(api.client, case["id"], "us", None).status_code == 200
    # The agent, still looking at the old page, closes it: refused, with what happened.
    form = {"reason": "No answer from the customer", "version": str(case["version"])}
    response = desk.post(f"/desk/cases/{case['id']}/close_unconfirmed", form)
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Not done: the case changed since you read it" in n for n in notes), notes
    assert Case.objects.get(pk=case["id"]).status == "waiting_on_us"
    # A note only adds: it applies to the current case whatever version the page showed.
    desk.post(f"/desk/cases/{case['id']}/note", {"body": "Called back", "version": "1"})
    assert Event.objects.filter(case_id=case["id"], kind="note").count() == 1
    # With the page read again, the close goes through.
    form["version"] = str(Case.objects.get(pk=case["id"]).version)
    desk.post(f"/desk/cases/{case['id']}/close_unconfirmed", form)
    assert Case.objects.get(pk=case["id"]).status == "closed_unconfirmed"
