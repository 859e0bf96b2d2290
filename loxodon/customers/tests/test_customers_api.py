from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from loxodon.core.testing import Api
from loxodon.customers.models import Customer, Identity


def _identities(customer: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {i["kind"]: (i["value"], i["verified"]) for i in customer["identities"]}


def test_create_customer_normalises_identifiers(customer: dict[str, Any]) -> None:
    assert customer["name"] == "Jo Bloggs"
    assert customer["last_name"] == "Bloggs"
    assert customer["home_site"] == "lon"
    assert _identities(customer) == {
        "email": ("jo.bloggs@example.com", True),
        "phone": ("+441632960001", True),
        "account_number": ("AC100200", True),
    }


def test_business_customer_joins_an_account_with_its_context(api: Api) -> None:
    first = api.post(
        "/customers",
        {
            "name": "Priya Raman",
            "account": {"name": "Northwind Haulage", "industry": "Transport", "size": "medium"},
        },
    ).json()
    second = api.post(
        "/customers", {"name": "Tom Reed", "account": {"name": "northwind haulage"}}
    ).json()
    assert first["account_id"] is not None
    assert second["account_id"] == first["account_id"]
    view = api.get(f"/customers/{first['id']}/view").json()
    assert view["account"]["industry"] == "Transport"
    assert view["account"]["size"] == "medium"


def test_a_verified_identifier_belongs_to_one_customer_only(
    api: Api, customer: dict[str, Any]
) -> None:
    # When another customer claims the same verified email (written differently)
    response = api.post(
        "/customers", {"name": "Impostor", "email": " JO.BLOGGS@example.com", "verified": True}
    )
    # Then it is refused, nothing is written, and the owner is named
    assert response.status_code == 409
    assert "already verified for another customer" in response.json()["detail"]
    assert not Customer.objects.filter(name="Impostor").exists()
    # An unverified claim is allowed (linkage decides later) ...
    other = api.post("/customers", {"name": "Maybe Jo", "email": "jo.bloggs@example.com"})
    assert other.status_code == 201
    # ... but cannot be verified while the first customer holds it
    response = api.post(
        f"/customers/{other.json()['id']}/identities",
        {"kind": "email", "value": "jo.bloggs@example.com", "verified": True},
    )
    assert response.status_code == 409


@pytest.mark.django_db
def test_the_database_itself_refuses_a_second_verified_owner(customer: dict[str, Any]) -> None:
    other = Customer.objects.create(name="Other")
    with pytest.raises(IntegrityError), transaction.atomic():
        Identity.objects.create(
            customer=other, kind="email", value="jo.bloggs@example.com", verified=True
        )


def test_adding_an_identity_is_idempotent(api: Api, customer: dict[str, Any]) -> None:
    url = f"/customers/{customer['id']}/identities"
    first = api.post(url, {"kind": "phone", "value": "+44 7700 900123"})
    again = api.post(url, {"kind": "phone", "value": "07700900123"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["value"] == "+447700900123"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "email", "value": "not-an-email"}, "not a valid email"),
        ({"kind": "phone", "value": "12"}, "phone number"),
        ({"kind": "legacy", "value": "no-site"}, "SITE:id"),
        ({"kind": "shoe_size", "value": "9"}, "kind"),
        ({"kind": "email", "value": "a@b.co", "customer_id": "x"}, "unknown field"),
    ],
)
def test_bad_identities_are_refused_with_a_reason(
    api: Api, customer: dict[str, Any], body: dict[str, Any], message: str
) -> None:
    response = api.post(f"/customers/{customer['id']}/identities", body)
    assert response.status_code in (400, 422)
    assert message in response.json()["detail"]
    assert len(api.get(f"/customers/{customer['id']}").json()["identities"]) == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "X", "id": "00000000-0000-0000-0000-000000000001"},
        {"name": "X", "email": "broken"},
        {"name": "X", "site": "nowhere"},
        {"name": 42},
    ],
)
def test_bad_customers_are_refused_and_nothing_is_written(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/customers", body)
    assert 400 <= response.status_code < 500
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert Customer.objects.count() == 0


def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    for path in (
        "/customers/00000000-0000-0000-0000-000000000000",
        "/customers/not-a-uuid",
        "/customers/not-a-uuid/view",
    ):
        response = api.get(path)
        assert response.status_code == 404
        assert "no customer with id" in response.json()["detail"]


def test_resolve_by_any_strong_identifier_in_any_format(api: Api, customer: dict[str, Any]) -> None:
    for params in (
        {"email": "JO.BLOGGS@EXAMPLE.COM"},
        {"phone": "+44 1632 960001"},
        {"phone": "(01632) 960-001"},
        {"account_number": "AC 100200"},
    ):
        body = api.get("/customers/resolve", **params).json()
        assert body["customer_id"] == customer["id"], params
        assert body["confidence"] == 1.0


def test_resolve_unknown_gives_null_and_no_candidates(api: Api, customer: dict[str, Any]) -> None:
    body = api.get("/customers/resolve", email="nobody@example.com").json()
    assert body == {"customer_id": None, "confidence": 0.0, "candidates": []}


def test_resolve_unverified_match_has_lower_confidence(api: Api) -> None:
    created = api.post("/customers", {"name": "Una", "email": "una@example.com"}).json()
    body = api.get("/customers/resolve", email="una@example.com").json()
    assert body["customer_id"] == created["id"]
    assert 0 < body["confidence"] < 1


def test_resolve_conflicting_identifiers_returns_candidates_not_a_guess(api: Api) -> None:
    a = api.post("/customers", {"name": "A", "email": "a@example.com"}).json()
    b = api.post("/customers", {"name": "B", "phone": "07700 900555"}).json()
    body = api.get("/customers/resolve", email="a@example.com", phone="07700900555").json()
    assert body["customer_id"] is None
    assert {c["customer_id"] for c in body["candidates"]} == {a["id"], b["id"]}


def test_resolve_by_profile_gives_candidates_only(api: Api) -> None:
    c = api.post(
        "/customers", {"name": "Sam Lee", "postcode": "sw1a 1aa", "date_of_birth": "1980-02-03"}
    ).json()
    body = api.get("/customers/resolve", name="sam lee", postcode="SW1A1AA").json()
    assert body["customer_id"] is None
    assert body["candidates"][0]["customer_id"] == c["id"]


def test_resolve_needs_something_to_go_on(api: Api) -> None:
    response = api.get("/customers/resolve")
    assert response.status_code == 400
    assert "at least one of" in response.json()["detail"]
    assert api.get("/customers/resolve", email="nope").status_code == 400


def test_list_customers_pages_with_a_cursor_and_searches(api: Api) -> None:
    for n in range(7):
        api.post("/customers", {"name": f"Customer {n}", "email": f"c{n}@example.com"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/customers", **params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    found = api.get("/customers", q="C3@EXAMPLE.com").json()["items"]
    assert [c["name"] for c in found] == ["Customer 3"]
    assert api.get("/customers", q="customer 5").json()["items"][0]["name"] == "Customer 5"
    assert api.get("/customers", cursor="garbage").status_code == 400
