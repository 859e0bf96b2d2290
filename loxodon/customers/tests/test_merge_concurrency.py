"""A merge racing with agents writing to the absorbed customer: nothing is left behind.

Real threads, real transactions (SQLite serialises writers; PostgreSQL locks rows), so this
runs with `transaction=True`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from loxodon.cases import services as case_services
from loxodon.core.errors import Conflict
from loxodon.customers import services
from loxodon.customers.models import Customer, Identity, MatchReview
from loxodon.customers.tests.test_merge import customer_relations
from loxodon.org.models import User
from loxodon.timeline.models import Event

ROUNDS = 4


def _in_thread(fn: Callable[[], Any], barrier: threading.Barrier, out: dict[str, Any]) -> None:
    try:
        barrier.wait(timeout=10)
        out["result"] = fn()
    except Exception as exc:  # the test inspects what each writer got
        out["error"] = exc
    finally:
        connection.close()


def _race(*fns: Callable[[], Any]) -> list[dict[str, Any]]:
    barrier = threading.Barrier(len(fns))
    outs: list[dict[str, Any]] = [{} for _ in fns]
    threads = [
        threading.Thread(target=_in_thread, args=(fn, barrier, out))
        for fn, out in zip(fns, outs, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outs


def _pointing_at(customer: Customer) -> dict[str, int]:
    out = {}
    for model, field, label in customer_relations():
        n = model._default_manager.filter(**{field: customer.pk}).count()
        if n:
            out[label] = n
    return out


@pytest.mark.django_db(transaction=True)
def test_writers_racing_a_merge_land_on_the_survivor_or_get_a_clean_error(
    supervisor: User, agent: User
) -> None:
    for n in range(ROUNDS):
        survivor = services.create_customer(name=f"Kim Park {n}", email=f"kim{n}@example.com")
        absorbed = services.create_customer(name=f"Kim Parke {n}", phone=f"0163296{n:04d}")
        case = case_services.open_case(
            customer=absorbed, problem="Parcel late", actor=agent, owner=agent
        )

        def merge(s: Customer = survivor, a: Customer = absorbed) -> Any:
            return services.merge_customers(survivor=s, absorbed=a, by=supervisor, reason="same")

        def note(c: Any = case) -> Any:  # the agent's stale copy of the case
            return case_services.add_note(case=c, body="Customer rang again", actor=agent)

        def identity(a: Customer = absorbed, i: int = n) -> Any:  # stale copy of the customer
            return services.add_identity(customer=a, kind="email", value=f"kp{i}@example.org")

        merged, noted, identified = _race(merge, note, identity)

        assert "error" not in merged, merged
        assert "error" not in noted, noted  # the note waits for the case, then follows it
        if "error" in identified:
            assert isinstance(identified["error"], Conflict), identified
            assert "merged into another customer" in identified["error"].detail
        else:
            assert Identity.objects.get(value=f"kp{n}@example.org").customer_id == survivor.pk
        assert _pointing_at(absorbed) == {}, f"round {n}: rows left on the absorbed customer"
        assert Event.objects.get(pk=noted["result"].pk).customer_id == survivor.pk


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_the_same_customer_at_once_one_wins(supervisor: User) -> None:
    a = services.create_customer(name="Lee One")
    b = services.create_customer(name="Lee Two")
    c = services.create_customer(name="Lee Three")

    def into_a() -> Any:
        return services.merge_customers(survivor=a, absorbed=c, by=supervisor, reason="same")

    def into_b() -> Any:
        return services.merge_customers(survivor=b, absorbed=c, by=supervisor, reason="same")

    first, second = _race(into_a, into_b)
    outcomes = sorted(
        ["ok" if "result" in o else type(o["error"]).__name__ for o in (first, second)]
    )
    assert outcomes == ["Conflict", "ok"], (first, second)
    c.refresh_from_db()
    assert c.merged_into_id in (a.pk, b.pk)


@pytest.mark.django_db(transaction=True)
def test_a_review_decision_racing_a_merge_of_one_of_its_customers(supervisor: User) -> None:
    for n in range(ROUNDS):
        a, b, c = (services.create_customer(name=f"Ray {n}{x}") for x in "abc")
        first, second = sorted((a, b), key=lambda x: x.pk)
        review = MatchReview.objects.create(customer_a=first, customer_b=second, score=0.8)

        def decide(r: MatchReview = review) -> Any:
            return services.decide_review(review=r, by=supervisor, decision="merge")

        def merge(s: Customer = c, x: Customer = b) -> Any:
            return services.merge_customers(survivor=s, absorbed=x, by=supervisor, reason="same")

        decided, merged = _race(decide, merge)
        review.refresh_from_db()
        b.refresh_from_db()
        if "result" in decided:  # the decision won: b went to the pair's survivor
            assert isinstance(merged["error"], Conflict), merged
            assert review.status == MatchReview.Status.MERGED
        else:  # the merge won: the decision is refused and the pair no longer applies
            assert isinstance(decided["error"], Conflict), decided
            assert "merged" in decided["error"].detail  # "no longer applies: ... merged ..."
            assert b.merged_into_id == c.pk
            assert review.status == MatchReview.Status.OBSOLETE
