"""Transactions from other systems: typed payloads per kind; orders and warranties keep the
customer's installed products current."""

from __future__ import annotations

from typing import Any

import pytest

from loxodon.core.testing import Api, event
from loxodon.timeline.models import Asset, Event

ORDER = {
    "order_number": "SO-1001",
    "status": "paid",
    "total": "2298.00",
    "currency": "GBP",
    "lines": [
        {"product": "EliteBook 840 G10", "quantity": 1, "unit_price": "1149.00", "serial": "5CG1"},
        {"product": "EliteBook 840 G10", "quantity": 1, "unit_price": "1149.00", "serial": "5CG2"},
        {"product": "USB-C cable", "quantity": 2},
    ],
    "erp_reference": "kept as delivered",
}
VALID = {
    "order": ORDER,
    "return": {"return_number": "RMA-1", "order_number": "SO-1001", "reason": "not compatible"},
    "shipment": {"tracking_number": "DPD123", "carrier": "DPD", "status": "in_transit"},
    "warranty": {"product": "EliteBook 840 G10", "serial": "5CG9", "warranty_until": "2029-01-31"},
    "invoice": {"invoice_number": "INV-9", "amount": "2298.00", "currency": "GBP"},
}


def _send(api: Api, customer_id: str, key: str, kind: str, payload: Any, **kw: Any) -> Any:
    body = event(key, kind=kind, channel="system", customer_id=customer_id, payload=payload, **kw)
    return api.post("/events", body)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_transaction_kind_with_a_valid_payload_lands_on_the_timeline(
    api: Api, customer: dict[str, Any], kind: str
) -> None:
    response = _send(api, customer["id"], f"t-{kind}", kind, VALID[kind])
    assert response.status_code == 201, response.json()
    timeline = api.get(f"/customers/{customer['id']}/timeline", kind=kind).json()
    assert [e["payload"] for e in timeline["items"]] == [VALID[kind]]


@pytest.mark.parametrize(
    ("kind", "payload", "says"),
    [
        ("order", {"lines": [{"product": "X"}]}, "payload.order_number: Field required"),
        ("order", {"order_number": "SO-1", "lines": []}, "payload.lines: List should have"),
        (
            "order",
            {"order_number": "SO-1", "lines": [{"product": "X", "quantity": 0}]},
            "payload.lines[0].quantity: Input should be greater than or equal to 1",
        ),
        ("order", {**ORDER, "currency": "pounds"}, "payload.currency: String should match"),
        ("return", {"return_number": "RMA-1"}, "payload.reason: Field required"),
        ("shipment", {"carrier": "DPD", "status": "lost-ish"}, "payload.status: Input should be"),
        ("warranty", {"product": "X", "serial": "S"}, "registration needs serial and warranty"),
        ("warranty", {"type": "claim", "product": "X"}, "a claim needs claim_number"),
        (
            "warranty",
            {"product": "X", "serial": "S", "warranty_until": "2020-01-01", "starts_on": "2021"},
            "payload.starts_on",
        ),
        ("invoice", {"invoice_number": "I-1", "amount": "ten", "currency": "GBP"}, "amount"),
    ],
)
def test_a_transaction_with_a_wrong_payload_is_refused_saying_which_field(
    api: Api, customer: dict[str, Any], kind: str, payload: dict[str, Any], says: str
) -> None:
    response = _send(api, customer["id"], "bad", kind, payload)
    assert response.status_code == 400
    assert f"a '{kind}' event needs a valid payload" in response.json()["detail"]
    assert says in response.json()["detail"]
    assert not Event.objects.filter(source="test", external_id="bad").exists()


def test_one_bad_transaction_rejects_the_whole_batch(api: Api, customer: dict[str, Any]) -> None:
    good = event("b1", kind="order", customer_id=customer["id"], payload=ORDER)
    bad = event("b2", kind="invoice", customer_id=customer["id"], payload={"amount": 1})
    response = api.post("/events/batch", {"events": [good, bad]})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("events[1]: a 'invoice' event needs")
    assert not Event.objects.filter(source="test").exists()
    assert not Asset.objects.exists()


def test_an_order_creates_an_asset_per_serialised_line_once_however_often_it_is_replayed(
    api: Api, customer: dict[str, Any]
) -> None:
    statuses = [
        _send(
            api, customer["id"], "order-1", "order", ORDER, occurred_at="2026-03-02T10:00:00+00:00"
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 200, 200]
    assert Event.objects.filter(kind="order").count() == 1
    view = api.get(f"/customers/{customer['id']}/view").json()
    assets = sorted(view["assets"], key=lambda a: a["serial"])
    assert [(a["product"], a["serial"], a["purchased_at"]) for a in assets] == [
        ("EliteBook 840 G10", "5CG1", "2026-03-02"),
        ("EliteBook 840 G10", "5CG2", "2026-03-02"),
    ]


def test_cancelled_or_quoted_orders_create_no_assets(api: Api, customer: dict[str, Any]) -> None:
    _send(api, customer["id"], "q", "order", {**ORDER, "status": "quoted"})
    _send(api, customer["id"], "c", "order", {**ORDER, "status": "cancelled"})
    assert not Asset.objects.exists()


def test_a_warranty_registration_extends_the_asset_and_never_shortens_it(
    api: Api, customer: dict[str, Any]
) -> None:
    _send(api, customer["id"], "o", "order", ORDER)
    extend = {"product": "EliteBook 840 G10", "serial": "5CG1", "warranty_until": "2030-06-30"}
    assert _send(api, customer["id"], "w1", "warranty", extend).status_code == 201
    shorter = {**extend, "warranty_until": "2027-01-01", "plan": "basic"}
    assert _send(api, customer["id"], "w2", "warranty", shorter).status_code == 201
    asset = Asset.objects.get(serial="5CG1")
    assert str(asset.warranty_until) == "2030-06-30"
    assert Asset.objects.filter(serial="5CG2").get().warranty_until is None


def test_a_warranty_registration_for_an_unknown_product_registers_it(
    api: Api, customer: dict[str, Any]
) -> None:
    payload = {
        "product": "ProBook 450 G10",
        "serial": "NEW1",
        "warranty_until": "2028-05-01",
        "refurbished": True,
        "os": "Windows 11 Pro",
    }
    _send(api, customer["id"], "w", "warranty", payload)
    asset = Asset.objects.get(serial="NEW1")
    assert (asset.customer_id.hex, asset.refurbished, asset.os) == (
        customer["id"].replace("-", ""),
        True,
        "Windows 11 Pro",
    )
    claim = {"type": "claim", "claim_number": "WC-1", "product": "ProBook", "outcome": "approved"}
    assert _send(api, customer["id"], "claim", "warranty", claim).status_code == 201
    assert Asset.objects.count() == 1


def test_a_product_registered_to_one_customer_is_not_moved_by_another_customers_order(
    api: Api, customer: dict[str, Any]
) -> None:
    other = api.post("/customers", {"name": "Other Person", "email": "other@example.com"}).json()
    _send(api, customer["id"], "mine", "order", ORDER)
    assert _send(api, other["id"], "theirs", "order", ORDER).status_code == 201
    assert {a.customer_id.hex for a in Asset.objects.all()} == {customer["id"].replace("-", "")}


def test_the_api_publishes_each_kinds_payload_schema(api: Api) -> None:
    kinds = {k["kind"]: k for k in api.get("/events/kinds").json()}
    assert kinds["order"]["transaction"] is True
    assert "order_number" in kinds["order"]["payload_schema"]["required"]
    assert kinds["message"]["payload_schema"] is None
    assert "status_change" not in kinds  # only Loxodon's own services write case work
