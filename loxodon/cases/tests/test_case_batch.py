"""Opening many cases at once (`POST /cases/batch`) and the integration key `(source,
external_id)` that makes a repeat delivery of a case, batch or single, open nothing new."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loxodon.cases.models import Case, CaseStatus
from loxodon.core.testing import Api
from loxodon.org.models import User
from loxodon.timeline.models import Event


@pytest.fixture
def customers(api: Api) -> list[str]:
    ids = []
    for n in range(3):
        body = {"name": f"Batch Customer {n}", "email": f"batch{n}@example.com"}
        response = api.post("/customers", body)
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return ids


def _cases(customers: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": c,
            "problem": f"Router {n} drops the line every evening",
            "source": "ivr",
            "external_id": f"ivr-{n}",
            **extra,
        }
        for n, c in enumerate(customers)
    ]


def _counts() -> tuple[int, int]:
    return Case.objects.count(), Event.objects.count()


def test_a_batch_opens_every_case_with_its_timeline_events(
    api: Api, customers: list[str], agent: User, colleague: User
) -> None:
    cases = _cases(customers)
    cases[1] |= {"owner": colleague.username, "priority": "urgent", "site": "man"}
    response = api.post("/cases/batch", {"cases": cases})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["existing"]) == (3, 0)
    assert [i["index"] for i in body["items"]] == [0, 1, 2]
    assert all(i["created"] and i["source"] == "ivr" for i in body["items"])
    first, second, _ = (Case.objects.select_related("site").get(pk=i["id"]) for i in body["items"])
    assert first.site is not None and second.site is not None
    # Without an owner a case is new, at the opening agent's site; with one it is open.
    assert (first.status, first.site.code, first.opened_by) == (CaseStatus.NEW, "lon", agent)
    assert (second.status, second.owner, second.priority) == ("open", colleague, "urgent")
    assert second.site.code == "man" and str(first.customer_id) == customers[0]
    # Each case is on its customer's timeline, as a case opened one at a time would be.
    kinds = list(
        Event.objects.filter(case=second).order_by("occurred_at").values_list("kind", "summary")
    )
    assert kinds == [
        ("case_opened", "Case opened: Router 1 drops the line every evening"),
        ("status_change", f"Owner: {colleague.display_name}"),
    ]
    assert Event.objects.filter(case=first).count() == 1
    # Read back through the API like any case.
    assert api.get(f"/cases/{first.pk}").json()["problem"] == cases[0]["problem"]


def test_a_repeated_batch_opens_nothing_and_answers_the_same_cases(
    api: Api, customers: list[str]
) -> None:
    first = api.post("/cases/batch", {"cases": _cases(customers)}).json()
    before = _counts()
    again = api.post("/cases/batch", {"cases": _cases(customers)})
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["existing"]) == (0, 3)
    assert [i["id"] for i in again.json()["items"]] == [i["id"] for i in first["items"]]
    assert _counts() == before
    # A batch mixing a repeat with a new case opens only the new one.
    mixed = [*_cases(customers), {"customer_id": customers[0], "problem": "A second problem"}]
    answer = api.post("/cases/batch", {"cases": mixed})
    assert answer.status_code == 201
    assert (answer.json()["created"], answer.json()["existing"]) == (1, 3)
    assert _counts()[0] == before[0] + 1


def test_the_same_key_twice_in_one_batch_is_one_case(api: Api, customers: list[str]) -> None:
    case = _cases(customers)[0]
    body = api.post("/cases/batch", {"cases": [case, case]}).json()
    assert body["created"] == 1 and body["existing"] == 1
    assert body["items"][0]["id"] == body["items"][1]["id"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"problem": "   "}, 422, "cases[2].problem: String should have at least 1"),
        ({"customer_id": "0" * 32}, 404, "no customer with id '00000000-0000"),
        ({"owner": "nobody-here"}, 404, "no active staff user 'nobody-here'"),
        ({"site": "xyz"}, 404, "no site with code 'xyz'"),
        ({"external_id": ""}, 400, "cases[2]: give source and external_id together"),
        ({"priority": "whenever"}, 422, "priority"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_one_bad_case_refuses_the_batch_and_writes_nothing(
    api: Api, customers: list[str], change: dict[str, Any], status: int, message: str
) -> None:
    cases = _cases(customers)
    cases[2] |= change
    before = _counts()
    response = api.post("/cases/batch", {"cases": cases})
    assert response.status_code == status, response.json()
    assert message in str(response.json()["detail"])
    assert _counts() == before


def test_a_key_reused_for_another_problem_is_a_conflict(api: Api, customers: list[str]) -> None:
    api.post("/cases/batch", {"cases": _cases(customers)[:1]})
    before = _counts()
    other = _cases(customers)[:1]
    other[0]["problem"] = "Something else entirely"
    fresh = {"customer_id": customers[1], "problem": "New", "source": "ivr", "external_id": "x"}
    response = api.post("/cases/batch", {"cases": [fresh, *other]})
    assert response.status_code == 409
    assert "cases[1]: source/external_id ('ivr', 'ivr-0') was opened before" in str(
        response.json()["detail"]
    )
    assert _counts() == before  # the new case in the same batch was not opened either
    inside = api.post("/cases/batch", {"cases": [_cases(customers)[0], *other]})
    assert inside.status_code == 409 and "repeats cases[0]" in str(inside.json()["detail"])


def test_batch_size_and_access_are_enforced(api: Api, anonymous: Api, customers: list[str]) -> None:
    assert api.post("/cases/batch", {"cases": []}).status_code == 422
    too_many = [{"customer_id": customers[0], "problem": "x"}] * 1001
    assert api.post("/cases/batch", {"cases": too_many}).status_code == 422
    assert anonymous.post("/cases/batch", {"cases": _cases(customers)}).status_code == 401
    assert Case.objects.count() == 0


def test_a_single_case_with_a_key_is_idempotent(api: Api, customers: list[str]) -> None:
    case = _cases(customers)[0]
    first = api.post("/cases", case)
    assert first.status_code == 201
    before = _counts()
    again = api.post("/cases", case)
    assert again.status_code == 200 and again.json() == first.json()
    assert _counts() == before
    clash = api.post("/cases", case | {"problem": "Different words"})
    assert clash.status_code == 409 and first.json()["id"] in str(clash.json())
    # Without a key every post is a new case, as before.
    plain = {"customer_id": customers[0], "problem": "No key"}
    assert api.post("/cases", plain).json()["id"] != api.post("/cases", plain).json()["id"]


def test_a_batch_costs_the_same_queries_for_five_cases_as_for_fifty(
    api: Api, customers: list[str]
) -> None:
    def queries(n: int, start: int) -> int:
        cases = [
            {
                "customer_id": customers[k % 3],
                "problem": f"Problem {k}",
                "source": "load",
                "external_id": str(k),
            }
            for k in range(start, start + n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            assert api.post("/cases/batch", {"cases": cases}).status_code == 201
        return len(ctx.captured_queries)

    assert queries(5, 0) == queries(50, 100) <= 10
    assert Case.objects.count() == 55
