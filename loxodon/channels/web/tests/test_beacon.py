"""The beacon through real HTTP: hits stored, grouped into visits, shown on the timeline."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from loxodon.channels.web.models import WebHit, WebProperty, WebVisit, WebVisitor
from loxodon.channels.web.tests.conftest import SHOP, VISITOR, Beacon, hit, token_for
from loxodon.core.testing import Api
from loxodon.customers.models import Customer
from loxodon.timeline.models import Event


def web_events() -> list[Event]:
    return list(Event.objects.filter(kind="web_visit").order_by("occurred_at"))


def timeline(api: Api, customer_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/customers/{customer_id}/timeline", kind="web_visit")
    assert response.status_code == 200, response.content
    return list(response.json()["items"])


def nothing_written() -> bool:
    return not (WebVisitor.objects.exists() or WebVisit.objects.exists() or WebHit.objects.exists())


# --- anonymous and identified visitors -----------------------------------------------------


def test_anonymous_hits_are_stored_but_on_no_timeline(beacon: Beacon) -> None:
    customers_before = Customer.objects.count()
    response = beacon.hits([hit(), hit("search", query="battery")])
    assert response.status_code == 202, response.content
    assert response.json() == {"stored": 2, "repeated": 0, "identity": "none"}
    visitor = WebVisitor.objects.get()
    assert visitor.visitor_key == VISITOR and visitor.customer is None
    assert WebVisit.objects.get().hit_count == 2
    assert WebHit.objects.filter(type="search", query="battery").exists()
    assert web_events() == []
    assert Customer.objects.count() == customers_before


def test_identified_hits_are_one_web_visit_on_the_customers_timeline(
    beacon: Beacon, shop: WebProperty, api: Api, customer: dict[str, Any]
) -> None:
    start = timezone.now() - timedelta(minutes=20)
    hits = [
        hit(at=start, url="https://shop.example.com/", title="Home"),
        hit("search", at=start + timedelta(minutes=1), query="battery"),
        hit(at=start + timedelta(minutes=2), url="https://shop.example.com/latitude-7440"),
        hit(
            "configuration",
            at=start + timedelta(minutes=3),
            product="Latitude 7440",
            options={"ram": "32 GB", "warranty_years": 3},
        ),
    ]
    identity = token_for(shop, email="jo.bloggs@example.com")
    response = beacon.hits(hits, identity=identity)
    assert response.status_code == 202, response.content
    assert response.json()["identity"] == "accepted"

    (item,) = timeline(api, customer["id"])
    assert item["channel"] == "web"
    assert item["summary"] == (
        "Web visit · 2 pages · searched 'battery' · configured Latitude 7440"
    )
    payload = item["payload"]
    assert [p["title"] for p in payload["pages"]] == ["Home", "Laptops"]
    assert payload["searches"][0]["query"] == "battery"
    assert payload["configurations"][0]["options"] == {"ram": "32 GB", "warranty_years": 3}
    # searches and configurations are part of the visit, not entries of their own
    assert Event.objects.filter(customer_id=customer["id"], channel="web").count() == 1

    # more hits in the same visit amend the same event
    beacon.hits([hit(at=start + timedelta(minutes=10), title="Checkout")], identity=identity)
    (item,) = timeline(api, customer["id"])
    assert item["summary"].startswith("Web visit · 3 pages")
    assert item["payload"]["pages"][-1]["title"] == "Checkout"


def test_a_known_visitor_stays_known_without_a_token(
    beacon: Beacon, shop: WebProperty, api: Api, customer: dict[str, Any]
) -> None:
    beacon.hits([hit()], identity=token_for(shop, account_number="AC-100200"))
    beacon.hits([hit(title="Support")])
    (item,) = timeline(api, customer["id"])
    assert item["payload"]["page_count"] == 2


def test_later_identification_backfills_earlier_anonymous_visits(
    beacon: Beacon, shop: WebProperty, api: Api, customer: dict[str, Any]
) -> None:
    now = timezone.now()
    beacon.hits([hit(at=now - timedelta(hours=5)), hit(at=now - timedelta(hours=4, minutes=50))])
    beacon.hits([hit("search", at=now - timedelta(hours=2), query="dock")])
    assert web_events() == []

    beacon.hits(
        [hit(at=now - timedelta(minutes=1))],
        identity=token_for(
            shop, email=customer["identities"][0]["value"] if False else "jo.bloggs@example.com"
        ),
    )

    items = timeline(api, customer["id"])
    assert [i["summary"] for i in items] == [
        "Web visit · 1 page",
        "Web visit · searched 'dock'",
        "Web visit · 2 pages",
    ]
    assert WebVisit.objects.filter(event__isnull=True).count() == 0


def test_a_refused_identity_token_still_stores_the_hits_anonymously(
    beacon: Beacon, shop: WebProperty
) -> None:
    expired = token_for(shop, email="jo@example.com", exp=1)
    response = beacon.hits([hit()], identity=expired)
    assert response.status_code == 202
    answer = response.json()
    assert answer["identity"] == "refused"
    assert "expired" in answer["identity_detail"]
    assert WebHit.objects.count() == 1
    assert WebVisitor.objects.get().customer is None
    assert web_events() == []


def test_a_browser_that_changes_hands_starts_a_visit_for_the_new_customer(
    beacon: Beacon, shop: WebProperty
) -> None:
    now = timezone.now()
    beacon.hits([hit(at=now - timedelta(minutes=10))], identity=token_for(shop, email="a@x.com"))
    beacon.hits([hit(at=now - timedelta(minutes=5))], identity=token_for(shop, email="b@x.com"))
    first, second = web_events()
    assert first.customer_id != second.customer_id
    assert WebVisit.objects.count() == 2


# --- visits and idempotency ----------------------------------------------------------------


def test_thirty_minutes_of_silence_starts_a_new_visit(beacon: Beacon) -> None:
    now = timezone.now()
    beacon.hits(
        [
            hit(at=now - timedelta(hours=2)),
            hit(at=now - timedelta(hours=1, minutes=31)),  # 29 minutes later: same visit
            hit(at=now - timedelta(minutes=30)),  # 61 minutes later: a new visit
        ]
    )
    visits = list(WebVisit.objects.order_by("started_at"))
    assert [v.hit_count for v in visits] == [2, 1]
    assert visits[0].last_hit_at - visits[0].started_at == timedelta(minutes=29)


def test_the_same_beacon_replayed_three_times_is_one_visit_and_one_event(
    beacon: Beacon, shop: WebProperty
) -> None:
    body = beacon.body(
        [hit(), hit("search", query="battery"), hit("configuration", product="Latitude 7440")],
        identity=token_for(shop, email="jo@example.com"),
    )
    answers = [beacon.send(body) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["stored"] for a in answers] == [3, 0, 0]
    assert [a.json()["repeated"] for a in answers] == [0, 3, 3]
    (event,) = web_events()
    visit = WebVisit.objects.get()
    assert (visit.hit_count, WebHit.objects.count(), visit.event_id) == (3, 3, event.pk)
    assert event.summary == "Web visit · 1 page · searched 'battery' · configured Latitude 7440"
    assert Event.objects.get(pk=event.pk).payload == event.payload


def test_a_hit_id_repeated_inside_one_beacon_is_stored_once(beacon: Beacon) -> None:
    one = hit()
    response = beacon.hits([one, dict(one)])
    assert response.json() == {"stored": 1, "repeated": 1, "identity": "none"}


def test_hit_times_are_corrected_for_a_wrong_page_clock(beacon: Beacon) -> None:
    page_now = timezone.now() + timedelta(hours=3)  # the page's clock is 3 hours fast
    response = beacon.hits([hit(at=page_now - timedelta(minutes=1))], sent_at=page_now.isoformat())
    assert response.status_code == 202, response.content
    stored = WebHit.objects.get().at
    assert abs(stored - (timezone.now() - timedelta(minutes=1))) < timedelta(minutes=1)


# --- refusals: nothing written ------------------------------------------------------------


def test_an_unknown_or_inactive_key_is_forbidden(beacon: Beacon, shop: WebProperty) -> None:
    response = beacon.send(beacon.body([hit()]) | {"key": "pk_nobody"})
    assert response.status_code == 403
    assert response.json()["detail"] == "unknown or inactive web property key"
    shop.active = False
    shop.save(update_fields=["active"])
    response = beacon.hits([hit()])
    assert response.status_code == 403
    assert nothing_written()


def test_a_disallowed_origin_is_refused(shop: WebProperty) -> None:
    response = Beacon(shop, origin="https://evil.example.net").hits([hit()])
    assert response.status_code == 403
    assert "origin https://evil.example.net is not allowed" in response.json()["detail"]
    assert "Access-Control-Allow-Origin" not in response.headers
    response = Beacon(shop, origin=None).hits([hit()])
    assert response.status_code == 403
    assert nothing_written()


def test_invalid_beacons_are_refused_with_a_message(beacon: Beacon) -> None:
    cases: list[tuple[Any, int, str]] = [
        ("{not json", 400, "not valid JSON"),
        (beacon.body([hit() for _ in range(51)]), 422, "hits: List should have at most 50"),
        (beacon.body([hit("purchase")]), 422, "hits[0].type: Input should be"),
        (beacon.body([hit("search")]), 422, "hits[0]: a search needs its query"),
        (beacon.body([hit(title="x" * 301)]), 422, "hits[0].title: String should have at most"),
        (beacon.body([hit(at="2026-01-01T10:00:00")]), 422, "hits[0].at: Input should have"),
        (beacon.body([hit(secret=1)]), 422, "hits[0].secret: unknown field"),
        (beacon.body([hit()]) | {"visitor": "short"}, 422, "visitor: String should match"),
        (beacon.body([]), 422, "hits: List should have at least 1"),
        (beacon.body([hit(at=timezone.now() + timedelta(hours=1))]), 400, "in the future"),
        (beacon.body([hit(at=timezone.now() - timedelta(days=8))]), 400, "more than 7 days"),
    ]
    for body, status, message in cases:
        response = beacon.send(body)
        assert response.status_code == status, (body, response.content)
        assert message in response.json()["detail"], response.json()
    assert nothing_written()


def test_an_oversized_body_is_refused(beacon: Beacon) -> None:
    body = beacon.body([hit(url="https://shop.example.com/" + "a" * 1900) for _ in range(40)])
    response = beacon.send(body)
    assert response.status_code == 413
    assert "at most 65536 bytes" in response.json()["detail"]
    assert nothing_written()


def test_other_content_types_and_methods_are_refused(beacon: Beacon) -> None:
    response = beacon.client.post("/web/beacon", {"key": "x"})  # a form post
    assert response.status_code == 415
    response = beacon.client.get("/web/beacon")
    assert response.status_code == 405 and response["Allow"] == "POST, OPTIONS"
    assert nothing_written()


def test_json_and_text_plain_bodies_are_both_accepted(beacon: Beacon) -> None:
    assert beacon.send(beacon.body([hit()]), content_type="application/json").status_code == 202
    assert beacon.send(beacon.body([hit()]), content_type="text/plain").status_code == 202
    assert WebHit.objects.count() == 2


def test_too_many_beacons_are_rate_limited(beacon: Beacon, settings: Any) -> None:
    settings.LOXODON_WEB_BEACON_RATES = {"ip": "100/d", "key_ip": "6/d", "visitor": "3/d"}
    statuses = [beacon.hits([hit()]).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    limited = beacon.hits([hit()])
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "too many beacons" in limited.json()["detail"]
    assert limited["Access-Control-Allow-Origin"] == SHOP
    assert WebHit.objects.count() == 3
    # another visitor (another browser behind the same address) is not held up ...
    other = beacon.send(beacon.body([hit()]) | {"visitor": "w-0123456789abcdefABCD"})
    assert other.status_code == 202
    # ... until the address itself is over its limit for this key (7 beacons > 6)
    other = beacon.send(beacon.body([hit()]) | {"visitor": "w-0123456789abcdefABCD"})
    assert other.status_code == 429


# --- CORS ----------------------------------------------------------------------------------


def test_cors_preflight_and_headers(beacon: Beacon) -> None:
    preflight = beacon.client.options(
        "/web/beacon",
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"] == "Content-Type"
    assert "Origin" in preflight["Vary"]

    refused = Beacon(beacon.prop, origin="https://evil.example.net").client.options("/web/beacon")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers

    response = beacon.hits([hit()])
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in response.headers


def Client_options(beacon: Beacon, origin: str) -> Any:
    return Beacon(beacon.prop, origin=origin).client.options("/web/beacon")


# --- timeline payload limits ---------------------------------------------------------------


def test_a_long_visit_keeps_its_event_payload_small(beacon: Beacon, shop: WebProperty) -> None:
    identity = token_for(shop, email="jo@example.com")
    start = timezone.now() - timedelta(hours=1)
    for batch in range(3):
        hits = [
            hit(
                at=start + timedelta(seconds=batch * 50 + i),
                url="https://shop.example.com/" + "p" * 700,
                title="t" * 300,
            )
            for i in range(50)
        ]
        assert beacon.hits(hits, identity=identity).status_code == 202
    (event,) = web_events()
    assert event.payload["page_count"] == 150
    assert len(event.payload["pages"]) + event.payload["earlier_pages_not_shown"] == 150
    assert len(json.dumps(event.payload)) < 64 * 1024
    assert event.summary == "Web visit · 150 pages"
