"""Story 4, end to end: five independent centres' exports become one customer who is known.

Given: five centres' legacy exports (one with its own headers and day-first dates), in which
the transport customer Thomas Hargreaves is spelled five ways, next to his son (same name,
address and family email) and a namesake in York.
When: each centre's customers and shipments are imported and `link_customers` runs, and a
supervisor settles whatever the model was unsure about in the review queue.
Then: no duplicate is left and nobody was wrongly merged; an agent at any centre sees one
customer with every centre's identities and shipments; the merges can be undone.
"""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from loxodon.core.testing import signed_in
from loxodon.customers.models import Account, Customer, Identity, MatchReview
from loxodon.demo.centres import CENTRES, HAULAGE, SON, THOMAS, TRUTH, centre_exports
from loxodon.org.models import Role, Site, User
from loxodon.org.services import create_site

pytestmark = pytest.mark.django_db


def _import_centres(folder: Path) -> None:
    for export in centre_exports(folder):
        args = [str(export.customers), "--site", export.centre]
        if export.mapping:
            args += ["--mapping", str(export.mapping)]
        call_command("import_customers", *args, stdout=io.StringIO(), stderr=io.StringIO())
        call_command(
            "import_events",
            str(export.shipments),
            "--site",
            export.centre,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def _people_of_live_customers() -> dict[Any, set[str]]:
    """Live (not merged-away) customer → the real people its legacy records belong to."""
    people: dict[Any, set[str]] = defaultdict(set)
    for customer_id, value in Identity.objects.filter(
        kind="legacy", customer__merged_into__isnull=True
    ).values_list("customer_id", "value"):
        site, _, legacy_id = value.partition(":")
        people[customer_id].add(TRUTH[(site, legacy_id)])
    return people


def _figures() -> tuple[int, int]:
    """(duplicate customers left, wrong merges) against the truth."""
    people = _people_of_live_customers()
    wrong = sum(len(persons) - 1 for persons in people.values())
    per_person: dict[str, int] = defaultdict(int)
    for persons in people.values():
        for person in persons:
            per_person[person] += 1
    duplicates = sum(n - 1 for n in per_person.values())
    return duplicates, wrong


def _settle_reviews(supervisor: Client) -> None:
    """The supervisor decides every pending pair through the desk, by the truth."""
    while review := MatchReview.objects.filter(status=MatchReview.Status.PENDING).first():
        a = _people_of_live_customers()[review.customer_a_id]
        b = _people_of_live_customers()[review.customer_b_id]
        if a == b:
            data = {"decision": "merge", "note": ""}
        else:
            data = {"decision": "not_same", "note": "different dates of birth: father and son"}
        response = supervisor.post(f"/desk/identity/reviews/{review.pk}/decision", data)
        assert response.status_code in (200, 302), response.content[:500]
        review.refresh_from_db()
        assert review.status != MatchReview.Status.PENDING


def test_five_centres_exports_become_one_known_customer(tmp_path: Path) -> None:
    for code in CENTRES:
        create_site(code=code, name=code.title(), time_zone="Europe/London")
    hull = Site.objects.get(code="hull")
    agent_user = User.objects.create_user("hull-agent", role=Role.AGENT, site=hull)
    steward = User.objects.create_user(
        "steward", role=Role.SUPERVISOR, site=Site.objects.get(code="leeds")
    )

    _import_centres(tmp_path / "exports")
    assert Customer.objects.count() == len(TRUTH)  # one customer per legacy record
    duplicates_before, _ = _figures()
    assert duplicates_before == 6  # Thomas four times over, Amira and Grace once each

    out = io.StringIO()
    call_command("link_customers", stdout=out, stderr=io.StringIO())
    duplicates_after_linkage, wrong = _figures()
    assert wrong == 0, "linkage merged different people"
    assert duplicates_after_linkage < duplicates_before, out.getvalue()

    _settle_reviews(signed_in(steward))
    duplicates, wrong = _figures()
    assert (duplicates, wrong) == (0, 0)

    # An agent at another centre finds one Thomas with every centre's identities and shipments.
    thomas = Identity.objects.get(kind="legacy", value="leeds:L-1001").customer
    assert thomas.merged_into_id is None
    legacy = set(thomas.identities.filter(kind="legacy").values_list("value", flat=True))
    assert legacy == {f"{c}:{i}" for (c, i), who in TRUTH.items() if who == THOMAS}
    agent = signed_in(agent_user)
    view = agent.get(f"/api/v1/customers/{thomas.pk}/view").json()
    # ... and the business he ships for, however each centre capitalised it: one account.
    assert view["account"]["name"] == HAULAGE
    assert Account.objects.filter(name__iexact=HAULAGE).count() == 1
    shipments = [e for e in view["timeline"]["items"] if e["kind"] == "shipment"]
    assert len(shipments) == 5
    assert {e["payload"]["tracking_number"] for e in shipments} == {
        "HH-LDS-0001", "HH-BFD-0002", "HH-YRK-0003", "HH-HUL-0004", "HH-SHF-0005",
    }  # fmt: skip
    search = agent.get("/desk/search", {"q": "Hargreaves"}).content.decode()
    assert search.count(f"/desk/customers/{thomas.pk}/") >= 1

    # His son stayed his own customer, with his own shipment only.
    son = Identity.objects.get(kind="legacy", value="leeds:L-1002").customer
    assert son.merged_into_id is None and son.pk != thomas.pk
    assert _people_of_live_customers()[son.pk] == {SON}

    # Every merge can be undone, newest first: each record comes back with its own shipment.
    merges = list(thomas.merges_in.filter(undone_at__isnull=True).order_by("-created_at"))
    assert len(merges) == 4
    for merge in merges:
        _unmerge(steward, merge.pk)
        absorbed = Customer.objects.get(pk=merge.absorbed_id)
        assert absorbed.merged_into_id is None
        assert absorbed.events.filter(kind="shipment").count() == 1
        assert absorbed.identities.filter(kind="legacy").count() == 1
    assert _figures() == (duplicates_before - 2, 0)  # Amira and Grace stay merged


def _unmerge(steward: User, merge_id: Any) -> None:
    response = signed_in(steward).post(
        f"/api/v1/merges/{merge_id}/unmerge",
        {"reason": "story 4: checking merges are reversible"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
