"""One spec, two engines: Python's levels and weights equal DuckDB's (through Splink)."""

from __future__ import annotations

import logging
import math
import random
from typing import Any

import pandas as pd
import pytest
from splink import DuckDBAPI, Linker

from loxodon.customers.resolution import engine
from loxodon.customers.resolution.model import Model, packaged_model, probability
from loxodon.customers.resolution.spec import CUSTOMER_SPEC
from loxodon.customers.resolution.synthetic import generate


def _varied_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Left: one record of 20 people; right: their other records, relatives and strangers.

    The cartesian product holds true pairs with typos/nicknames/moves and non-matches from
    families and businesses, so every kind of level occurs.
    """
    records, truth = generate(1500, seed=11)
    by_person: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_person.setdefault(truth[r["record_id"]], []).append(r)
    repeated = [rs for rs in by_person.values() if len(rs) >= 2]
    rng = random.Random(5)
    chosen = rng.sample(repeated, 20)
    left = [rs[0] for rs in chosen]
    right = [r for rs in chosen for r in rs[1:]][:20]
    by_email: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["email"]:
            by_email.setdefault(r["email"], []).append(r)
    shared = [
        r for rs in by_email.values() if len({truth[x["record_id"]] for x in rs}) > 1 for r in rs
    ]
    right += shared[:6] + rng.sample(records, 4)

    def prepared(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in rs:
            p = CUSTOMER_SPEC.prepare_record(r)
            p["unique_id"] = r["record_id"]
            p["email_block"], p["phone_block"] = p["email"], p["phone"]
            out.append(p)
        return out

    return prepared(left), prepared(right)


@pytest.fixture(scope="module")
def scored() -> tuple[Model, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    model = packaged_model()
    left, right = _varied_records()
    settings = engine.settings_for(CUSTOMER_SPEC, model.settings, "duckdb")
    frame = engine.prepare_frame(
        CUSTOMER_SPEC,
        {
            "unique_id": [1],
            **{c: [None] for c in ("first_name", "last_name", "dob", "postcode", "street")},
            **{c: [None] for c in ("city", "email", "phone", "account_number")},
        },
    )
    linker = Linker(DuckDBAPI().register(frame), settings, log_level=logging.ERROR)
    rows = linker.inference.score_pairs(left, right).as_pandas_dataframe().to_dict("records")
    return model, left, right, rows


def test_python_levels_equal_duckdb_levels_for_every_pair(scored: Any) -> None:
    _model, left, right, rows = scored
    by_id = {r["unique_id"]: r for r in left + right}
    assert len(rows) == len(left) * len(right) >= 500
    seen: set[tuple[str, int]] = set()
    for row in rows:
        a, b = by_id[row["unique_id_l"]], by_id[row["unique_id_r"]]
        python = CUSTOMER_SPEC.gammas(a, b)
        duckdb = {c.name: int(row[f"gamma_{c.name}"]) for c in CUSTOMER_SPEC.comparisons}
        assert python == duckdb, (a, b)
        seen.update(python.items())
    # The pairs exercised most levels of every comparison, not just "else" and "null".
    for c in CUSTOMER_SPEC.comparisons:
        observed = {g for name, g in seen if name == c.name}
        assert len(observed) >= min(3, len(c.levels)), (c.name, observed)


def test_python_fellegi_sunter_weights_equal_splinks(scored: Any) -> None:
    model, left, right, rows = scored
    by_id = {r["unique_id"]: r for r in left + right}
    for row in rows:
        score = model.score(by_id[row["unique_id_l"]], by_id[row["unique_id_r"]])
        assert score.weight == pytest.approx(row["match_weight"], abs=1e-6)
        assert score.probability == pytest.approx(row["match_probability"], abs=1e-9)


def test_weight_is_prior_plus_log_bayes_factors() -> None:
    settings = {
        "probability_two_random_records_match": 0.001,
        "comparisons": [
            {
                "output_column_name": c.name,
                "comparison_levels": [
                    {} if level.is_null else {"m_probability": 0.5, "u_probability": 0.125}
                    for level in c.levels
                ],
            }
            for c in CUSTOMER_SPEC.comparisons
        ],
    }
    model = Model(CUSTOMER_SPEC, settings, source="test")
    a = CUSTOMER_SPEC.prepare_record({"first_name": "Ann", "last_name": "Lee"})
    b = CUSTOMER_SPEC.prepare_record({"first_name": "Ann", "last_name": "Lee"})
    score = model.score(a, b)
    # Two comparisons agree (Bayes factor 4 = 2 bits each), the others are null (factor 1).
    prior = math.log2(0.001 / 0.999)
    assert score.weight == pytest.approx(prior + 2 + 2)
    assert score.probability == pytest.approx(2**score.weight / (1 + 2**score.weight))
    assert probability(0) == 0.5


def test_a_model_of_another_spec_is_refused() -> None:
    model = packaged_model()
    broken = {**model.settings, "comparisons": model.settings["comparisons"][:-1]}
    with pytest.raises(ValueError, match="retrain"):
        Model(CUSTOMER_SPEC, broken, source="test")


def test_levels_of_typical_pairs() -> None:
    spec = CUSTOMER_SPEC
    prep = spec.prepare_record
    a = prep({"first_name": "William", "last_name": "Smith", "dob": "1980-03-04"})
    for other, first_level in (
        ({"first_name": "Bill"}, "same canonical name (nickname)"),
        ({"first_name": "Wiliam"}, "Jaro-Winkler >= 0.92"),
        ({"first_name": "Smith", "last_name": "William"}, "first and last name swapped"),
        ({"first_name": "Mary"}, "else"),
        ({"first_name": None}, "null"),
    ):
        b = prep({"first_name": "William", "last_name": "Smith", **other})
        index = spec.comparisons[0].level_index(a, b)
        assert spec.comparisons[0].levels[index].label == first_level
    dob = spec.comparisons[2]
    for other_dob, label in (
        ("1980-04-03", "day/month swapped or one digit off"),
        ("1981-03-04", "day/month swapped or one digit off"),
        ("1980-11-20", "same year"),
        ("1955-01-01", "else"),
    ):
        b = prep({"first_name": "William", "last_name": "Smith", "dob": other_dob})
        assert dob.levels[dob.level_index(a, b)].label == label


def test_batch_and_real_time_apply_the_same_vetoes(scored: Any) -> None:
    _model, _left, _right, rows = scored
    frame = pd.DataFrame(rows).assign(match_probability=1.0)
    kept = engine.auto_pairs(CUSTOMER_SPEC, frame, 0.99)
    allowed = [
        CUSTOMER_SPEC.auto_merge_allowed(
            {c.name: int(row[f"gamma_{c.name}"]) for c in CUSTOMER_SPEC.comparisons}
        )
        for row in rows
    ]
    assert len(kept) == sum(allowed)
    assert 0 < sum(allowed) < len(rows)  # both kinds occur


def test_hard_conflicts_and_missing_person_evidence_block_auto_merges() -> None:
    spec = CUSTOMER_SPEC
    base = {
        "first_name": "Mary",
        "last_name": "Stanton",
        "dob": "1970-01-02",
        "postcode": "CV12 8EF",
        "street": "218 Broad Drive",
        "email": "stantons@example.org",
        "phone": "+447700900001",
        "account_number": "C001",
    }
    a = spec.prepare_record(base)

    def allowed(**other: Any) -> bool:
        return spec.auto_merge_allowed(spec.gammas(a, spec.prepare_record({**base, **other})))

    assert allowed()
    assert not allowed(first_name="Dennis", account_number="C002")  # another given name
    assert allowed(first_name="Dennis")  # ... unless the account number agrees
    assert not allowed(dob="1999-07-08", phone=None, account_number=None)  # born years apart
    assert allowed(dob="1999-07-08", account_number=None)  # ... unless the mobile agrees
    # No given name and no birthday: only household things agree.
    # (Without a given name even the phone counts as "shared": only the account lifts it.)
    assert not allowed(first_name=None, dob=None, account_number=None)
    assert allowed(first_name=None, dob=None)


def test_compiled_levels_equal_the_predicates_plain_tests(scored: Any) -> None:
    _model, left, right, _rows = scored
    for a in left:
        for b in right:
            for c in CUSTOMER_SPEC.comparisons:
                assert c.level_index(a, b) == c.level_index_reference(a, b)


def test_bounded_scoring_skips_only_pairs_below_the_floor(scored: Any) -> None:
    model, left, right, _rows = scored
    skipped = 0
    for a in left:
        for b in right:
            full = model.score(a, b)
            bounded = model.score_at_least(a, b, 0.5)
            if bounded is None:
                skipped += 1
                assert full.probability < 0.5
            else:
                assert bounded.levels == full.levels
                assert bounded.weight == pytest.approx(full.weight)
    assert skipped > len(left) * len(right) // 2  # most strangers stop early
