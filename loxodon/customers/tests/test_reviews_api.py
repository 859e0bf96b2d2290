"""/api/v1/identity/reviews: the review queue for systems, with the desk's rules."""

from __future__ import annotations

from typing import Any

import pytest

from loxodon.core.testing import Api
from loxodon.customers.models import Customer, MatchReview
from loxodon.customers.tests.review_pairs import make_pair
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_api_token, create_staff


@pytest.fixture
def boss(supervisor: User) -> Api:
    return Api(create_api_token(username=supervisor.username))


@pytest.fixture
def admin_api(site: Site, departments: dict[str, Department]) -> Api:
    create_staff(username="ada", first_name="Ada", last_name="Admin", role="admin", site=site)
    return Api(create_api_token(username="ada"))


@pytest.fixture
def pair(site: Site, other_site: Site) -> MatchReview:
    return make_pair(site, other_site)


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


def test_only_supervisors_and_admins_see_the_queue(
    anonymous: Api, api: Api, boss: Api, admin_api: Api, pair: MatchReview
) -> None:
    assert anonymous.get("/identity/reviews").status_code == 401
    refused = api.get("/identity/reviews")  # Ann is an agent
    assert refused.status_code == 403
    assert "supervisors and admins" in refused.json()["detail"]
    assert api.get(f"/identity/reviews/{pair.pk}").status_code == 403
    decision = api.post(f"/identity/reviews/{pair.pk}/decision", {"decision": "merge"})
    assert decision.status_code == 403
    pair.refresh_from_db()
    assert pair.status == "pending"
    for client in (boss, admin_api):
        assert ids(client.get("/identity/reviews")) == [str(pair.pk)]


def test_pending_pairs_come_highest_score_first_in_keyset_pages(
    boss: Api, site: Site, other_site: Site
) -> None:
    low = make_pair(site, other_site, score=0.61, history=False)
    top = make_pair(site, other_site, score=0.97, history=False)
    mid = make_pair(site, other_site, score=0.8, history=False)
    first = boss.get("/identity/reviews", limit=2)
    body = first.json()
    assert ids(first) == [str(top.pk), str(mid.pk)] and body["count"] == 3
    item = body["items"][0]
    assert item["score"] == 0.97 and item["status"] == "pending"
    assert {item["customer_a"]["id"], item["customer_b"]["id"]} == {
        str(top.customer_a_id),
        str(top.customer_b_id),
    }
    assert item["customer_a"]["identities"], "both customers come with their identifiers"
    last_name = next(c for c in item["comparison"] if c["field"] == "last name")
    assert last_name["level"] == "Exact match" and last_name["match_weight"] > 5
    assert "one person" in last_name["effect"]
    second = boss.get("/identity/reviews", limit=2, cursor=body["next_cursor"])
    assert ids(second) == [str(low.pk)] and second.json()["next_cursor"] is None


def test_filters_by_site_and_score_band_and_refuses_bad_input(
    boss: Api, site: Site, other_site: Site, departments: dict[str, Department]
) -> None:
    from loxodon.org.services import create_site

    leeds = create_site(code="lds", name="Leeds", time_zone="Europe/London")
    high = make_pair(site, other_site, score=0.93, history=False)
    in_leeds = make_pair(leeds, leeds, score=0.75, history=False)
    assert ids(boss.get("/identity/reviews", site="lds")) == [str(in_leeds.pk)]
    # either customer's home site counts: every London pair has its other record in Manchester
    assert ids(boss.get("/identity/reviews", site="man")) == [str(high.pk)]
    assert ids(boss.get("/identity/reviews", band="high")) == [str(high.pk)]
    assert ids(boss.get("/identity/reviews", band="medium")) == [str(in_leeds.pk)]
    assert ids(boss.get("/identity/reviews", band="low")) == []
    unknown = boss.get("/identity/reviews", site="nowhere")
    assert unknown.status_code == 400 and "no site with code 'nowhere'" in unknown.json()["detail"]
    bad_cursor = boss.get("/identity/reviews", cursor="not-a-cursor")
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()["detail"]
    maybe = boss.get("/identity/reviews", status="maybe")
    assert maybe.status_code == 400 and "status must be one of: pending" in maybe.json()["detail"]
    assert boss.get("/identity/reviews", band="huge").status_code == 400
    # empty parameters are no filter (a form that sends every field)
    assert len(ids(boss.get("/identity/reviews", status="", site="", band=""))) == 2
    assert boss.get("/identity/reviews/not-an-id").status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert boss.get(f"/identity/reviews/{missing}").status_code == 404


def test_one_pair_comes_with_counts_and_the_merge_plan(boss: Api, pair: MatchReview) -> None:
    body = boss.get(f"/identity/reviews/{pair.pk}").json()
    counts = sorted([body["counts_a"], body["counts_b"]], key=lambda c: c["cases"])
    assert counts == [
        {"events": 2, "cases": 0, "assets": 0},
        {"events": 3, "cases": 1, "assets": 1},  # opening the case is an event
    ]
    plan = body["plan"]
    assert {plan["survivor_id"], plan["absorbed_id"]} == {
        str(pair.customer_a_id),
        str(pair.customer_b_id),
    }
    assert sum(plan["moves"].values()) > 0
    assert any(c["field"] == "street" for c in plan["changes"])
    # the other record can be chosen as the survivor
    swapped = boss.get(f"/identity/reviews/{pair.pk}", survivor_id=plan["absorbed_id"]).json()
    assert swapped["plan"]["survivor_id"] == plan["absorbed_id"]
    wrong = boss.get(f"/identity/reviews/{pair.pk}", survivor_id=str(pair.run_id or pair.pk))
    assert wrong.status_code == 400 and "one of the two customers" in wrong.json()["detail"]


def test_merge_decision_merges_and_hides_the_absorbed_customer(
    boss: Api, pair: MatchReview, supervisor: User
) -> None:
    keep = pair.customer_b_id
    response = boss.post(
        f"/identity/reviews/{pair.pk}/decision",
        {"decision": "merge", "note": "same date of birth and phone", "survivor_id": str(keep)},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "merged" and body["decided_by"] == supervisor.username
    assert body["merge_id"] and body["survivor_id"] == str(keep)
    assert body["decided_at"] is not None
    absorbed = Customer.objects.get(pk=pair.customer_a_id)
    assert absorbed.merged_into_id == keep
    assert ids(boss.get("/identity/reviews")) == []
    assert ids(boss.get("/identity/reviews", status="merged")) == [str(pair.pk)]
    again = boss.post(
        f"/identity/reviews/{pair.pk}/decision", {"decision": "not_same", "note": "x"}
    )
    assert again.status_code == 409 and again.json()["detail"]


def test_not_the_same_person_needs_a_note_and_is_remembered(boss: Api, pair: MatchReview) -> None:
    refused = boss.post(f"/identity/reviews/{pair.pk}/decision", {"decision": "not_same"})
    assert refused.status_code == 400 and "say why" in refused.json()["detail"]
    pair.refresh_from_db()
    assert pair.status == "pending"
    response = boss.post(
        f"/identity/reviews/{pair.pk}/decision",
        {"decision": "not_same", "note": "twins: different first names at the same address"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "not_same" and body["note"].startswith("twins")
    assert body["merge_id"] is None
    assert (
        Customer.objects.filter(pk__in=[pair.customer_a_id, pair.customer_b_id])
        .filter(merged_into__isnull=True)
        .count()
        == 2
    )
    assert ids(boss.get("/identity/reviews", status="not_same")) == [str(pair.pk)]
    assert ids(boss.get("/identity/reviews")) == []
    again = boss.post(f"/identity/reviews/{pair.pk}/decision", {"decision": "merge"})
    assert again.status_code == 409


def test_bad_decisions_are_refused_with_a_reason(boss: Api, pair: MatchReview) -> None:
    url = f"/identity/reviews/{pair.pk}/decision"
    assert boss.post(url, {"decision": "maybe"}).status_code == 422
    assert boss.post(url, {"decision": "merge", "sneaky": 1}).status_code == 422
    stranger = "00000000-0000-0000-0000-000000000001"
    outsider = boss.post(url, {"decision": "merge", "survivor_id": stranger})
    assert outsider.status_code == 400
    assert (
        boss.post(
            "/identity/reviews/00000000-0000-0000-0000-000000000000/decision", {"decision": "merge"}
        ).status_code
        == 404
    )
    pair.refresh_from_db()
    assert pair.status == "pending"


def test_a_pair_whose_customer_was_merged_meanwhile_is_left_out_and_refused(
    boss: Api, pair: MatchReview, site: Site
) -> None:
    from loxodon.customers.services import create_customer

    third = create_customer(name="Jo Bloggs", site=site)
    a, b = sorted((pair.customer_b, third), key=lambda c: c.pk)
    overlapping = MatchReview.objects.create(customer_a=a, customer_b=b, score=0.7)
    assert set(ids(boss.get("/identity/reviews"))) == {str(pair.pk), str(overlapping.pk)}
    merged = boss.post(
        f"/identity/reviews/{pair.pk}/decision",
        {"decision": "merge", "survivor_id": str(pair.customer_a_id)},
    )
    assert merged.status_code == 200, merged.content
    assert (
        ids(boss.get("/identity/reviews")) == []
    )  # customer_b is gone: the pair no longer applies
    detail = boss.get(f"/identity/reviews/{overlapping.pk}").json()
    assert detail["plan"] is None
    late = boss.post(f"/identity/reviews/{overlapping.pk}/decision", {"decision": "merge"})
    assert late.status_code == 409


def test_the_endpoints_are_documented(boss: Api) -> None:
    schema = boss.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    listing = paths["/api/v1/identity/reviews"]["get"]
    assert (
        listing["tags"] == ["identity reviews"] and "highest score first" in listing["description"]
    )
    decision = paths["/api/v1/identity/reviews/{review_id}/decision"]["post"]
    assert {"200", "400", "403", "404", "409"} <= set(decision["responses"])
    assert "not_same" in decision["description"]
