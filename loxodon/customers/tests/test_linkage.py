"""Batch linkage (`loxodon link_customers`) on generated customers in the database: sure
clusters are merged automatically, unsure pairs are queued, "not the same person" sticks."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from loxodon.customers import services
from loxodon.customers.models import (
    Customer,
    Identity,
    LinkageRun,
    MatchModel,
    MatchReview,
    Merge,
)
from loxodon.customers.resolution.model import packaged_model
from loxodon.customers.resolution.synthetic import generate
from loxodon.org.models import Site, User
from loxodon.org.services import create_site


def load(records: list[dict[str, Any]], sites: dict[str, Site]) -> dict[int, Customer]:
    """Customers as an import would leave them: unverified identities, home site set."""
    customers = {}
    for r in records:
        first, last = r["first_name"] or "", r["last_name"] or ""
        customers[r["record_id"]] = Customer(
            name=f"{first} {last}".strip() or "?",
            first_name=first,
            last_name=last,
            date_of_birth=r["dob"],
            street=r["street"] or "",
            city=r["city"] or "",
            postcode=r["postcode"] or "",
            home_site=sites[r["site"]],
        )
    Customer.objects.bulk_create(customers.values())
    identities = [
        Identity(customer=customers[r["record_id"]], kind=kind, value=r[kind], source="test")
        for r in records
        for kind in ("email", "phone", "account_number")
        if r[kind]
    ]
    Identity.objects.bulk_create(identities)
    return customers


@pytest.fixture
def population(db: None) -> tuple[dict[int, Customer], dict[int, int]]:
    records, truth = generate(400, seed=21)
    # Four centres instead of the generator's 120, so --site has something to choose.
    sites = {code: create_site(code=code, name=code) for code in ("c1", "c2", "c3", "c4")}
    by_code = {}
    for r in records:
        r["site"] = f"c{int(r['site'][1:]) % 4 + 1}"
        by_code[r["site"]] = sites[r["site"]]
    customers = load(records, sites)
    MatchModel.objects.create(settings=packaged_model().settings, trained_on=100_000)
    return customers, truth


def link(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("link_customers", *args, stdout=out, stderr=err)
    return out.getvalue()


def person_of(customers: dict[int, Customer], truth: dict[int, int]) -> dict[Any, int]:
    return {c.pk: truth[rid] for rid, c in customers.items()}


def test_sure_clusters_merge_and_unsure_pairs_are_queued(population: Any) -> None:
    customers, truth = population
    person = person_of(customers, truth)
    output = link()
    run = LinkageRun.objects.get()
    merges = list(Merge.objects.all())
    assert len(merges) >= 40
    assert run.auto_merged == len(merges)
    assert all(m.method == Merge.Method.AUTOMATIC and m.merged_by is None for m in merges)
    assert all(m.reason == f"linkage run {run.pk}" and 0.99 <= (m.score or 0) <= 1 for m in merges)
    # Auto-merges join records of one person (wrong merges are worse than missed ones).
    wrong = [m for m in merges if person[m.survivor_id] != person[m.absorbed_id]]
    assert len(wrong) <= len(merges) // 50
    assert Customer.objects.filter(merged_into__isnull=False).count() == len(merges)
    pending = list(MatchReview.objects.filter(status=MatchReview.Status.PENDING))
    assert pending and run.queued_for_review == len(pending)
    for review in pending:
        assert review.customer_a_id < review.customer_b_id
        assert review.score >= 0.6
        assert review.run_id == run.pk
        assert {c["field"] for c in review.comparison} >= {"first_name", "last_name", "dob"}
        assert all(c["bayes_factor"] > 0 and c["level"] for c in review.comparison)
    assert run.records == 400 and run.pairs_scored > 0
    assert "auto-merged" in output and "peak memory" in output


def test_a_second_run_changes_nothing(population: Any) -> None:
    link()
    merges, reviews = Merge.objects.count(), MatchReview.objects.count()
    link()
    assert (Merge.objects.count(), MatchReview.objects.count()) == (merges, reviews)
    second = LinkageRun.objects.order_by("-started_at").first()
    assert second is not None and second.auto_merged == 0 and second.queued_for_review == 0


def identical_records(n: int) -> list[Customer]:
    """`n` customers with the same profile: the model would merge them without a second thought."""
    return Customer.objects.bulk_create(
        [
            Customer(
                name="Ottilie Quarrington",
                first_name="Ottilie",
                last_name="Quarrington",
                date_of_birth="1990-03-03",
                postcode="YO11AA",
                street="1 Mill Lane",
                city="York",
            )
            for _ in range(n)
        ]
    )


def test_not_the_same_person_is_never_suggested_or_merged_again(
    population: Any, supervisor: User
) -> None:
    twin_a, twin_b = identical_records(2)
    a, b = sorted((twin_a, twin_b), key=lambda c: c.pk)
    review = MatchReview.objects.create(customer_a=a, customer_b=b, score=0.7)
    services.decide_review(review=review, by=supervisor, decision="not_same", note="twins")
    link()
    link()
    for c in (a, b):
        c.refresh_from_db()
        assert c.merged_into_id is None
    assert MatchReview.objects.filter(customer_a=a, customer_b=b).count() == 1
    assert not MatchReview.objects.filter(customer_a=b, customer_b=a).exists()


def test_a_cluster_holding_a_not_same_pair_goes_to_review(
    population: Any, supervisor: User
) -> None:
    people = identical_records(3)
    a, b, c = sorted(people, key=lambda x: x.pk)
    review = MatchReview.objects.create(customer_a=a, customer_b=c, score=0.7)
    services.decide_review(review=review, by=supervisor, decision="not_same")
    link()
    assert not Merge.objects.filter(absorbed__in=people).exists()
    queued = MatchReview.objects.filter(
        status=MatchReview.Status.PENDING, customer_a__in=people, customer_b__in=people
    )
    assert {(r.customer_a_id, r.customer_b_id) for r in queued} == {(a.pk, b.pk), (b.pk, c.pk)}


def test_site_scope_only_touches_that_centres_customers(population: Any) -> None:
    customers, _ = population
    link("--site", "c2")
    run = LinkageRun.objects.get()
    assert run.scope == "site:c2"
    at_c2 = {c.pk for c in customers.values() if c.home_site and c.home_site.code == "c2"}
    merges = list(Merge.objects.all())
    assert merges
    for m in merges:
        # Every merged group contains one of c2's customers (a group may hold two others
        # that c2's record links together).
        group = {m.survivor_id} | {x.absorbed_id for x in merges if x.survivor_id == m.survivor_id}
        assert group & at_c2
    for r in MatchReview.objects.all():
        assert r.customer_a_id in at_c2 or r.customer_b_id in at_c2
    # The other centres' own duplicates were left for a run over everyone.
    link()
    assert Merge.objects.count() > len(merges)


def test_dry_run_writes_nothing(population: Any) -> None:
    output = link("--dry-run")
    assert "would merge" in output
    assert not Merge.objects.exists()
    assert not MatchReview.objects.exists()
    assert not LinkageRun.objects.exists()


def test_train_stores_a_new_model_used_by_later_runs(population: Any) -> None:
    before = MatchModel.objects.count()
    link("--train")
    model = MatchModel.objects.order_by("-created_at").first()
    assert model is not None and MatchModel.objects.count() == before + 1
    assert model.trained_on == 400
    assert LinkageRun.objects.get().model_id == model.pk
    assert model.settings["comparisons"][0]["comparison_levels"][1]["m_probability"] > 0


def test_bad_options_are_clear_errors(population: Any) -> None:
    with pytest.raises(CommandError, match="no site with code 'zz'"):
        link("--site", "zz")
    with pytest.raises(CommandError, match="review"):
        link("--auto-threshold", "0.5", "--review-threshold", "0.9")
    with pytest.raises(CommandError, match=r"pip install -e '\.\[spark\]'"):
        link("--backend", "spark")


def test_a_handful_of_customers_is_scored_with_the_packaged_model(db: None) -> None:
    for _ in range(2):
        Customer.objects.create(
            name="Ottilie Quarrington",
            first_name="Ottilie",
            last_name="Quarrington",
            date_of_birth="1990-03-03",
            postcode="YO11AA",
            street="1 Mill Lane",
            city="York",
        )
    output = link()
    assert "packaged default" in output
    assert Merge.objects.count() == 1
    assert not MatchModel.objects.exists()
    with pytest.raises(CommandError, match="too few customers to train"):
        link("--train")
