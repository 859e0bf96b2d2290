"""Real-time resolution through GET /api/v1/customers/resolve: exact identifiers first, then
Fellegi-Sunter scores with the trained model (the newest MatchModel, else the packaged one)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest
from django.test import override_settings

from loxodon.core.testing import Api
from loxodon.customers import services
from loxodon.customers.models import Customer, MatchModel
from loxodon.customers.resolution.model import clear_cache, load_active_model, packaged_model


@pytest.fixture(autouse=True)
def fresh_model_cache() -> None:
    clear_cache()


def make(api: Api, **fields: Any) -> str:
    body = {"site": "lon", **fields}
    response = api.post("/customers", body)
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


@pytest.fixture
def margaret(api: Api) -> str:
    return make(
        api,
        name="Margaret Thornbury",
        email="m.thornbury@example.org",
        date_of_birth="1971-05-02",
        street="12 Oak Road",
        city="Leeds",
        postcode="LS6 2AB",
    )


@pytest.fixture
def neighbours(api: Api) -> list[str]:
    """Others at the same postcode or born the same day: blocking finds them, scores reject."""
    return [
        make(api, name="Peter Okafor", postcode="LS6 2AB", street="14 Oak Road", city="Leeds"),
        make(api, name="Susan Reyes", date_of_birth="1971-05-02", postcode="BS1 4DJ"),
        make(api, name="Margaret Smith", date_of_birth="1950-11-30", postcode="LS6 2AB"),
    ]


def resolve(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get("/customers/resolve", **params)
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_verified_identifier_wins_over_any_profile(api: Api, margaret: str) -> None:
    other = make(api, name="Jo Other", email="jo@example.org", verified=True)
    body = resolve(
        api, email="JO@example.org", first_name="Margaret", last_name="Thornbury", dob="1971-05-02"
    )
    assert body == {"customer_id": other, "confidence": 1.0, "candidates": []}


def test_typo_in_the_name_with_same_postcode_and_birthday_is_a_match(
    api: Api, margaret: str, neighbours: list[str]
) -> None:
    body = resolve(
        api, first_name="Margret", last_name="Thornbury", dob="1971-05-02", postcode="ls62ab"
    )
    assert body["customer_id"] == margaret
    assert 0.99 <= body["confidence"] <= 1.0


def test_the_full_name_is_split_when_given_as_one(api: Api, margaret: str) -> None:
    body = resolve(api, name="Maggie Thornbury", dob="1971-05-02", postcode="LS6 2AB")
    assert body["customer_id"] == margaret  # nickname, same birthday and postcode


def test_weak_agreement_gives_candidates_with_reasons(
    api: Api, margaret: str, neighbours: list[str]
) -> None:
    # Same name and postcode but no date of birth, email or phone: never attach on that alone.
    body = resolve(api, first_name="Maggie", last_name="Thornbury", postcode="LS6 2AB")
    assert body["customer_id"] is None
    assert [c["customer_id"] for c in body["candidates"]] == [margaret]
    (candidate,) = body["candidates"]
    assert 0.5 <= candidate["score"] < 1
    assert "last_name: exact" in candidate["reason"]
    assert "address: same postcode" in candidate["reason"]


def test_a_stranger_is_new(api: Api, margaret: str, neighbours: list[str]) -> None:
    body = resolve(api, first_name="Anil", last_name="Kapoor", dob="1990-01-01", postcode="LS6 2AB")
    assert body == {"customer_id": None, "confidence": 0.0, "candidates": []}


def test_a_namesake_born_another_year_is_not_the_customer(
    api: Api, margaret: str, neighbours: list[str]
) -> None:
    body = resolve(
        api, first_name="Margaret", last_name="Thornbury", dob="1998-08-14", postcode="LS6 2AB"
    )
    assert body["customer_id"] is None


def test_merged_customers_are_never_returned(api: Api, margaret: str) -> None:
    duplicate = make(api, name="Margaret Thornbury", date_of_birth="1971-05-02", postcode="LS6 2AB")
    services.merge_customers(
        survivor=Customer.objects.get(pk=margaret),
        absorbed=Customer.objects.get(pk=duplicate),
        by=None,
        reason="test",
    )
    body = resolve(
        api, first_name="Margaret", last_name="Thornbury", dob="1971-05-02", postcode="LS6 2AB"
    )
    assert body["customer_id"] == margaret
    assert duplicate not in [c["customer_id"] for c in body["candidates"]]


def test_two_equally_sure_customers_are_candidates_not_a_guess(api: Api, margaret: str) -> None:
    twin = make(api, name="Margaret Thornbury", date_of_birth="1971-05-02", postcode="LS6 2AB")
    body = resolve(
        api, first_name="Margaret", last_name="Thornbury", dob="1971-05-02", postcode="LS6 2AB"
    )
    assert body["customer_id"] is None
    assert {c["customer_id"] for c in body["candidates"]} == {margaret, twin}


def test_thresholds_are_read_at_call_time(api: Api, margaret: str) -> None:
    query = {"first_name": "Margret", "last_name": "Thornbury", "dob": "1971-05-02"}
    assert resolve(api, **query)["customer_id"] == margaret
    with override_settings(LOXODON_MATCH_AUTO=1.1, LOXODON_MATCH_CANDIDATE=0.2):
        body = resolve(api, **query)
    assert body["customer_id"] is None
    assert [c["customer_id"] for c in body["candidates"]] == [margaret]


def test_resolve_needs_a_clue_and_staff(api: Api, anonymous: Api) -> None:
    assert api.get("/customers/resolve", postcode="LS6 2AB").status_code == 400
    assert anonymous.get("/customers/resolve", last_name="Thornbury").status_code == 401


def test_the_newest_active_model_scores_and_the_packaged_one_is_the_fallback(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_active_model().source == "packaged"
    settings = dict(packaged_model().settings)
    settings["probability_two_random_records_match"] = 0.25
    stored = MatchModel.objects.create(settings=settings, trained_on=10)
    model = load_active_model()
    assert model.source == str(stored.pk)
    assert model.prior_weight == pytest.approx(-1.5849625, abs=1e-6)  # log2(0.25 / 0.75)
    assert model.prior_weight != packaged_model().prior_weight
    stored.active = False
    stored.save(update_fields=["active"])
    assert load_active_model().source == "packaged"
    # A model of an older spec is not used: resolution keeps working with the packaged one.
    MatchModel.objects.create(settings={**settings, "comparisons": []}, trained_on=10)
    with caplog.at_level(logging.WARNING):
        assert load_active_model().source == "packaged"
    assert "unusable" in caplog.text


def test_accents_and_case_do_not_matter(api: Api) -> None:
    cid = make(api, name="ÉLODIE  DUPONT", date_of_birth="1985-12-01", postcode="M1 1AE")
    body = resolve(api, first_name="elodie", last_name="Dupont", dob=date(1985, 12, 1).isoformat())
    assert body["customer_id"] == cid


def test_a_shared_unverified_email_with_another_given_name_is_only_a_candidate(api: Api) -> None:
    mother = make(
        api,
        name="Barbara Brookwright",
        email="brookwrights@example.org",
        date_of_birth="1977-07-20",
        postcode="CB8 6MC",
    )
    # The email alone still finds her (unverified, so less than certain).
    alone = resolve(api, email="brookwrights@example.org")
    assert alone["customer_id"] == mother and alone["confidence"] < 1
    # Her daughter writes from the family address: not Barbara, but Barbara is a candidate.
    body = resolve(
        api,
        email="brookwrights@example.org",
        first_name="Lisa",
        last_name="Brookwright",
        dob="1985-01-11",
        postcode="CB8 6MC",
    )
    assert body["customer_id"] is None
    (candidate,) = body["candidates"]
    assert candidate["customer_id"] == mother
    assert "differs: first_name" in candidate["reason"]
