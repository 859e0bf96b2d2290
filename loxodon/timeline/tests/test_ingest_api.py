from __future__ import annotations

from typing import Any

import pytest

from loxodon.core.testing import Api, event
from loxodon.customers.models import Customer
from loxodon.timeline.models import AppendOnlyError, Event


def test_one_event_lands_on_the_customers_timeline(api: Api, customer: dict[str, Any]) -> None:
    response = api.post(
        "/events",
        event(
            "m1",
            customer_id=customer["id"],
            body="My laptop will not power on",
            payload={"direction": "inbound"},
            site="lon",
            actor="ann",
        ),
    )
    assert response.status_code == 201
    stored = response.json()
    assert stored["customer_id"] == customer["id"]
    assert stored["site"] == "lon" and stored["actor"] == "ann"
    assert stored["occurred_at"].startswith("2026-11-20T10:00:00")
    timeline = api.get(f"/customers/{customer['id']}/timeline").json()
    assert [e["id"] for e in timeline["items"]] == [stored["id"]]


def test_a_repeat_delivery_returns_the_same_event_and_writes_nothing(
    api: Api, customer: dict[str, Any]
) -> None:
    body = event("dup-1", customer_id=customer["id"])
    first = api.post("/events", body)
    count = Event.objects.count()
    for _ in range(3):
        again = api.post("/events", body)
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
    assert Event.objects.count() == count


def test_the_same_key_with_different_content_is_a_conflict(
    api: Api, customer: dict[str, Any]
) -> None:
    first = api.post("/events", event("k1", customer_id=customer["id"]))
    changed = api.post("/events", event("k1", customer_id=customer["id"], summary="Changed"))
    assert changed.status_code == 409
    assert "different content" in changed.json()["detail"]
    assert changed.json()["event_id"] == first.json()["id"]
    assert Event.objects.get(source="test", external_id="k1").summary == "Message k1"


def test_an_event_found_by_identifiers_joins_the_known_customer(
    api: Api, customer: dict[str, Any]
) -> None:
    body = event("ivr-1", channel="ivr", kind="call", customer={"phone": "+44 (0)1632 960001"})
    response = api.post("/events", body)
    assert response.status_code == 201
    assert response.json()["customer_id"] == customer["id"]


def test_an_unknown_contact_becomes_a_new_unverified_customer(api: Api) -> None:
    body = event("new-1", customer={"email": "New.Person@example.com", "name": "New Person"})
    created = api.post("/events", body).json()
    again = api.post("/events", event("new-2", customer={"email": "new.person@example.com"}))
    assert again.json()["customer_id"] == created["customer_id"]
    person = api.get(f"/customers/{created['customer_id']}").json()
    assert person["name"] == "New Person"
    assert person["identities"][0]["value"] == "new.person@example.com"
    assert person["identities"][0]["verified"] is False


def test_a_batch_of_1000_is_stored_in_one_go(api: Api, customer: dict[str, Any]) -> None:
    events = [event(f"b{n}", customer_id=customer["id"]) for n in range(1000)]
    response = api.post("/events/batch", {"events": events})
    assert response.status_code == 201
    assert response.json()["created"] == 1000
    assert Event.objects.filter(source="test").count() == 1000
    # Replaying the batch writes nothing and reports every event as existing
    replay = api.post("/events/batch", {"events": events})
    assert replay.status_code == 200
    assert replay.json()["existing"] == 1000
    assert [i["id"] for i in replay.json()["items"]] == [i["id"] for i in response.json()["items"]]
    assert Event.objects.filter(source="test").count() == 1000


def test_a_batch_over_1000_is_refused(api: Api, customer: dict[str, Any]) -> None:
    events = [event(f"b{n}", customer_id=customer["id"]) for n in range(1001)]
    response = api.post("/events/batch", {"events": events})
    assert response.status_code == 422
    assert "1000" in response.json()["detail"]
    assert Event.objects.filter(source="test").count() == 0


@pytest.mark.parametrize(
    ("bad", "status", "message"),
    [
        ({"customer_id": "00000000-0000-0000-0000-000000000000"}, 404, "no customer"),
        ({"case_id": "00000000-0000-0000-0000-000000000000"}, 404, "no case"),
        ({"kind": "teleport"}, 400, "unknown kind"),
        ({"kind": "status_change"}, 400, "unknown kind"),
        ({"kind": "article_cited"}, 400, "unknown kind"),  # only the citation service
        ({"kind": "exception_approved"}, 400, "unknown kind"),  # only the exceptions service
        ({"kind": "contact_details_changed"}, 400, "unknown kind"),  # only the portal
        ({"channel": "pigeon"}, 422, "channel"),
        ({"occurred_at": "2026-11-20T10:00:00"}, 422, "timezone"),
        ({"occurred_at": "yesterday"}, 422, "occurred_at"),
        ({"summary": ""}, 422, "summary"),
        ({"site": "atlantis"}, 404, "no site"),
        ({"actor": "ghost"}, 404, "no active staff user"),
        ({"payload": "not an object"}, 422, "payload"),
        ({"internal": True}, 422, "unknown field"),
        ({"id": "00000000-0000-0000-0000-000000000001"}, 422, "unknown field"),
        ({"customer": {"email": "x@example.com"}}, 400, "not both"),
        ({"customer_id": None, "customer": {"name": "Only a name"}}, 400, "at least one of"),
    ],
)
def test_one_bad_event_rejects_the_whole_batch(
    api: Api, customer: dict[str, Any], bad: dict[str, Any], status: int, message: str
) -> None:
    good = [event(f"ok{n}", customer_id=customer["id"]) for n in range(5)]
    broken = {**event("bad", customer_id=customer["id"]), **bad}
    before = (Event.objects.count(), Customer.objects.count())
    response = api.post("/events/batch", {"events": [*good, broken, *good[:1]]})
    assert response.status_code == status, response.json()
    assert message in response.json()["detail"]
    assert (Event.objects.count(), Customer.objects.count()) == before


def test_a_batch_reusing_a_stored_key_with_other_content_writes_nothing(
    api: Api, customer: dict[str, Any]
) -> None:
    api.post("/events", event("taken", customer_id=customer["id"]))
    batch = [
        event("fresh", customer_id=customer["id"]),
        event("taken", customer_id=customer["id"], summary="other"),
    ]
    response = api.post("/events/batch", {"events": batch})
    assert response.status_code == 409
    assert "events[1]" in response.json()["detail"]
    assert not Event.objects.filter(external_id="fresh").exists()


def test_a_key_repeated_inside_one_batch(api: Api, customer: dict[str, Any]) -> None:
    same = event("twice", customer_id=customer["id"])
    response = api.post("/events/batch", {"events": [same, same]})
    assert response.json()["created"] == 1 and response.json()["existing"] == 1
    assert len({i["id"] for i in response.json()["items"]}) == 1
    clash = [
        event("x", customer_id=customer["id"]),
        event("x", customer_id=customer["id"], body="b"),
    ]
    assert api.post("/events/batch", {"events": clash}).status_code == 409
    assert not Event.objects.filter(external_id="x").exists()


def test_malformed_json_is_a_clear_400(api: Api) -> None:
    for path in ("/events", "/events/batch", "/customers", "/cases"):
        response = api.post(path, '{"source": "x",')
        assert response.status_code == 400
        assert "parse" in response.json()["detail"]


@pytest.mark.django_db
def test_events_are_append_only(api: Api, customer: dict[str, Any]) -> None:
    api.post("/events", event("a1", customer_id=customer["id"]))
    stored = Event.objects.get(external_id="a1")
    stored.summary = "rewritten"
    with pytest.raises(AppendOnlyError):
        stored.save()
    with pytest.raises(AppendOnlyError):
        stored.delete()
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=stored.pk).update(summary="rewritten")
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=stored.pk).delete()
    assert Event.objects.get(pk=stored.pk).summary == "Message a1"


def test_timeline_pages_newest_first_and_filters_by_channel_and_kind(
    api: Api, customer: dict[str, Any]
) -> None:
    channels = ["email", "phone", "web", "chat"]
    events = [
        event(
            f"t{n:02d}",
            customer_id=customer["id"],
            channel=channels[n % 4],
            kind="call" if channels[n % 4] == "phone" else "message",
            occurred_at=f"2026-11-{1 + n % 20:02d}T{n % 24:02d}:00:00+00:00",
        )
        for n in range(40)
    ]
    api.post("/events/batch", {"events": events})
    url = f"/customers/{customer['id']}/timeline"
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(url, limit=7, **({"cursor": cursor} if cursor else {})).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 40 == len({e["id"] for e in seen})
    times = [e["occurred_at"] for e in seen]
    assert times == sorted(times, reverse=True)
    phone = api.get(url, channel="phone").json()["items"]
    assert len(phone) == 10 and {e["channel"] for e in phone} == {"phone"}
    assert len(api.get(url, kind="call").json()["items"]) == 10
    assert api.get(url, channel="pigeon").status_code == 400
    assert api.get(url, limit=0).status_code == 400


def test_assets_are_registered_on_the_customer(api: Api, customer: dict[str, Any]) -> None:
    body = {
        "customer_id": customer["id"],
        "product": "ProBook 450 G6",
        "serial": "SN-123",
        "purchased_at": "2024-01-10",
        "refurbished": True,
        "os": "Windows 7",
        "warranty_until": "2026-12-01",
    }
    response = api.post("/assets", body)
    assert response.status_code == 201
    assert response.json()["refurbished"] is True
    assert api.post("/assets", body).status_code == 409
    view = api.get(f"/customers/{customer['id']}/view").json()
    assert view["assets"][0]["os"] == "Windows 7"
    assert view["timeline"]["items"][0]["kind"] == "asset"
    bad = api.post("/assets", {**body, "serial": "", "warranty_until": "2020-01-01"})
    assert bad.status_code == 400 and "before purchased_at" in bad.json()["detail"]
    unknown = api.post("/assets", {**body, "customer_id": "00000000-0000-0000-0000-000000000000"})
    assert unknown.status_code == 404


def test_an_oversized_batch_is_a_json_413_and_writes_nothing(
    api: Api, customer: dict[str, Any], settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    events = [event(f"big{n}", customer_id=customer["id"], body="x" * 1000) for n in range(200)]
    response = api.post("/events/batch", {"events": events})
    assert response.status_code == 413
    assert "send fewer events per batch" in response.json()["detail"]
    assert not Event.objects.filter(external_id__startswith="big").exists()
