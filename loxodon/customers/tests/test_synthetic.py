"""The generator behind training, tests and the benchmark: deterministic, with sound truth."""

from __future__ import annotations

from collections import Counter
from datetime import date

from loxodon.customers.resolution.synthetic import COLUMNS, generate, true_pairs


def test_same_seed_same_records_and_another_seed_differs() -> None:
    a, truth_a = generate(500, seed=7)
    b, truth_b = generate(500, seed=7)
    c, _ = generate(500, seed=8)
    assert a == b and truth_a == truth_b
    assert a != c


def test_records_have_the_import_columns_and_valid_values() -> None:
    records, truth = generate(3000, seed=1)
    assert len(records) == 3000
    assert set(truth) == {r["record_id"] for r in records}
    for r in records:
        assert tuple(r) == COLUMNS
        if r["dob"]:
            date.fromisoformat(r["dob"])
        if r["phone"]:
            assert r["phone"].startswith("+44") and r["phone"][1:].isdigit()
        if r["postcode"]:
            assert r["postcode"] == r["postcode"].upper() and " " not in r["postcode"]
        if r["email"]:
            assert "@" in r["email"]


def test_truth_has_duplicates_and_the_hard_cases() -> None:
    records, truth = generate(5000, seed=3)
    per_person = Counter(truth.values())
    assert 1.4 <= len(records) / len(per_person) <= 2.0
    pairs = true_pairs(truth)
    assert len(pairs) >= 1500
    by_id = {r["record_id"]: r for r in records}
    # One email shared by different people (families, nothing else shares an address).
    owners: dict[str, set[int]] = {}
    for r in records:
        if r["email"]:
            owners.setdefault(r["email"], set()).add(truth[r["record_id"]])
    assert any(len(people) > 1 for people in owners.values())
    # A switchboard phone shared by many people (businesses).
    phones: dict[str, set[int]] = {}
    for r in records:
        if r["phone"]:
            phones.setdefault(r["phone"], set()).add(truth[r["record_id"]])
    assert max(len(p) for p in phones.values()) >= 5
    # True pairs that disagree on names (typos, nicknames) and on postcode (moved house).
    assert any(by_id[a]["first_name"] != by_id[b]["first_name"] for a, b in pairs)
    assert any(
        by_id[a]["postcode"]
        and by_id[b]["postcode"]
        and by_id[a]["postcode"] != by_id[b]["postcode"]
        for a, b in pairs
    )
    # Different people with the same full name.
    names: dict[tuple[str, str], set[int]] = {}
    for r in records:
        names.setdefault((r["first_name"], r["last_name"]), set()).add(truth[r["record_id"]])
    assert any(len(people) > 1 for people in names.values())
