"""The 360 view: everything about the customer in one call, in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.core.testing import Api, event
from loxodon.org.models import User


def _load_events(api: Api, customer_id: str, n: int, start: int = 0) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    channels = ["phone", "email", "chat", "web", "sms", "in_person", "letter", "ivr"]
    for offset in range(0, n, 1000):
        batch = [
            event(
                f"v{start + k}",
                customer_id=customer_id,
                channel=channels[k % len(channels)],
                kind="order" if k % 5 == 0 else "message",
                payload={"order_number": f"SO-{k}", "lines": [{"product": "Dock"}]}
                if k % 5 == 0
                else {},
                occurred_at=(base + timedelta(minutes=start + k)).isoformat(),
            )
            for k in range(offset, min(n, offset + 1000))
        ]
        assert api.post("/events/batch", {"events": batch}).status_code == 201


def _history(api: Api, customer: dict[str, Any]) -> None:
    cid = customer["id"]
    case = api.post("/cases", {"customer_id": cid, "problem": "Broken", "owner": "ann"}).json()
    api.post(f"/cases/{case['id']}/tasks", {"department": "parts", "title": "Battery"})
    api.post(f"/cases/{case['id']}/tasks", {"department": "warranty", "title": "Claim"})
    closed = api.post("/cases", {"customer_id": cid, "problem": "Old", "owner": "ann"}).json()
    api.post(f"/cases/{closed['id']}/close-unconfirmed", {"reason": "Duplicate"})
    api.post("/assets", {"customer_id": cid, "product": "Laptop", "serial": "S1"})


def _count_view_queries(api: Api, customer_id: str) -> int:
    api.get(f"/customers/{customer_id}/view")  # warm: token last-used stamp, caches
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(f"/customers/{customer_id}/view")
    assert response.status_code == 200
    return len(ctx.captured_queries)


# token lookup, customer+account+site, identities, open cases, recent closed cases, tasks,
# assets, recent-contact count, latest survey, timeline page
VIEW_QUERIES = 10


@pytest.mark.parametrize("n_events", [10, 1000])
def test_view_query_count_is_fixed_whatever_the_history(
    api: Api, customer: dict[str, Any], n_events: int
) -> None:
    _history(api, customer)
    _load_events(api, customer["id"], n_events)
    assert _count_view_queries(api, customer["id"]) == VIEW_QUERIES


def test_view_holds_everything_about_the_customer(
    api: Api, customer: dict[str, Any], colleague: User
) -> None:
    _history(api, customer)
    _load_events(api, customer["id"], 120)
    view = api.get(f"/customers/{customer['id']}/view").json()
    assert view["customer"]["name"] == "Jo Bloggs"
    assert {i["kind"] for i in view["identities"]} == {"email", "phone", "account_number"}
    assert [c["status"] for c in view["cases"]] == ["open", "closed_unconfirmed"]  # open first
    assert [t["department"] for t in view["cases"][0]["tasks"]] == ["parts", "warranty"]
    assert view["assets"][0]["product"] == "Laptop"
    assert len(view["timeline"]["items"]) == 50 and view["timeline"]["next_cursor"]
    nxt = api.get(f"/customers/{customer['id']}/view", cursor=view["timeline"]["next_cursor"])
    first_ids = {e["id"] for e in view["timeline"]["items"]}
    assert not first_ids & {e["id"] for e in nxt.json()["timeline"]["items"]}
    phone = api.get(f"/customers/{customer['id']}/view", channel="phone").json()
    assert {e["channel"] for e in phone["timeline"]["items"]} == {"phone"}


def test_alerts_open_cases_repeat_contact_and_warranty(api: Api, customer: dict[str, Any]) -> None:
    cid = customer["id"]
    assert api.get(f"/customers/{cid}/view").json()["alerts"] == []
    now = timezone.now()
    for n, days_ago in enumerate((1, 3)):
        api.post(
            "/events",
            event(
                f"c{n}", customer_id=cid, occurred_at=(now - timedelta(days=days_ago)).isoformat()
            ),
        )
    api.post("/cases", {"customer_id": cid, "problem": "Screen flickers", "owner": "ann"})
    warranty_end = (timezone.localdate() + timedelta(days=10)).isoformat()
    api.post("/assets", {"customer_id": cid, "product": "Monitor", "warranty_until": warranty_end})
    alerts = {a["code"]: a for a in api.get(f"/customers/{cid}/view").json()["alerts"]}
    assert set(alerts) == {"open_cases", "repeat_contact", "warranty_ending"}
    assert "Screen flickers" in alerts["open_cases"]["message"]
    assert alerts["repeat_contact"]["message"].startswith("2 contacts in the last 7 days")
    assert "in 10 days" in alerts["warranty_ending"]["message"]


def test_old_contacts_do_not_raise_repeat_contact(api: Api, customer: dict[str, Any]) -> None:
    old = timezone.now() - timedelta(days=30)
    for n in range(3):
        api.post(
            "/events",
            event(
                f"o{n}",
                customer_id=customer["id"],
                occurred_at=(old - timedelta(hours=n)).isoformat(),
            ),
        )
    alerts = api.get(f"/customers/{customer['id']}/view").json()["alerts"]
    assert "repeat_contact" not in {a["code"] for a in alerts}


def test_our_own_outbound_messages_do_not_raise_repeat_contact(
    api: Api, customer: dict[str, Any]
) -> None:
    now = timezone.now()
    for n in range(3):
        api.post(
            "/events",
            event(
                f"out{n}",
                customer_id=customer["id"],
                occurred_at=(now - timedelta(hours=n)).isoformat(),
                payload={"direction": "outbound"},
            ),
        )
    alerts = api.get(f"/customers/{customer['id']}/view").json()["alerts"]
    assert "repeat_contact" not in {a["code"] for a in alerts}


def test_view_needs_authentication(anonymous: Api, customer: dict[str, Any]) -> None:
    assert anonymous.get(f"/customers/{customer['id']}/view").status_code == 401


@pytest.mark.parametrize(("score", "alerted"), [(1, True), (2, True), (3, False), (5, False)])
def test_last_survey_negative_alert(
    api: Api, customer: dict[str, Any], score: int, alerted: bool
) -> None:
    cid = customer["id"]
    old_happy = event(
        "s-old",
        customer_id=cid,
        channel="web",
        kind="survey",
        occurred_at="2026-01-01T10:00:00+00:00",
        summary="Survey",
        payload={"satisfaction": 5, "touchpoint": "service"},
    )
    latest = event(
        "s-new",
        customer_id=cid,
        channel="web",
        kind="survey",
        occurred_at="2026-11-01T10:00:00+00:00",
        summary="Survey",
        payload={"satisfaction": score, "touchpoint": "service"},
    )
    assert api.post("/events/batch", {"events": [old_happy, latest]}).status_code == 201
    alerts = {a["code"]: a for a in api.get(f"/customers/{cid}/view").json()["alerts"]}
    assert ("last_survey_negative" in alerts) is alerted
    if alerted:
        assert alerts["last_survey_negative"]["message"] == (
            f"Last survey was negative: satisfaction {score}/5 about service on 01 Nov 2026"
        )
