"""Policy exceptions through the API: /api/v1/knowledge/policies and /knowledge/exceptions."""
# ruff: noqa: F811 (pytest fixtures imported from exceptions_fixtures are redefined as arguments)

from __future__ import annotations

from typing import Any

import pytest

from loxodon.cases.models import Case
from loxodon.core.testing import Api
from loxodon.knowledge import services
from loxodon.knowledge.models import Article, PolicyException
from loxodon.knowledge.tests.exceptions_fixtures import (  # noqa: F401 - fixtures
    RETURNS_POLICY,
    case,
    plain_article,
    returns_policy,
    sam_api,
    sue_api,
    supervisor_two,
)
from loxodon.org.models import User
from loxodon.timeline.models import Event

pytestmark = pytest.mark.django_db


def body(case: Case, **fields: Any) -> dict[str, Any]:
    data = {
        "case_id": str(case.pk),
        "article": "returns",
        "parameter": "return_window",
        "value": 45,
        "reason": "Loyal customer",
    }
    data.update(fields)
    return data


def test_policies_list_parameters_and_your_authority(
    api: Api, sue_api: Api, returns_policy: Article, plain_article: Article
) -> None:
    response = api.get("/knowledge/policies")
    assert response.status_code == 200
    (policy,) = response.json()
    assert (policy["slug"], policy["version"]) == ("returns", 1)
    window = policy["parameters"][0]
    assert window["key"] == "return_window" and window["value"] == 30
    assert window["authority"] == {"agent": 15, "supervisor": 60}
    assert window["your_authority"] == 15
    assert sue_api.get("/knowledge/policies").json()[0]["parameters"][0]["your_authority"] == 60


def test_round_trip_grant_request_decide(
    api: Api, sue_api: Api, case: Case, returns_policy: Article, agent: User
) -> None:
    # within authority: granted at once
    granted = api.post("/knowledge/exceptions", body(case))
    assert granted.status_code == 201, granted.content
    out = granted.json()
    assert out["status"] == "granted" and out["version"] == 1
    assert (out["policy_value"], out["granted_value"], float(out["excess"])) == (30, 45, 15.0)
    assert out["requested_by"] == "ann" and out["site"] == "lon"
    assert api.get(f"/knowledge/exceptions/{out['id']}").json()["id"] == out["id"]
    # beyond: pending, then Sue approves
    pending = api.post("/knowledge/exceptions", body(case, value="60", reason="Abroad"))
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    pid = pending.json()["id"]
    assert api.post(f"/knowledge/exceptions/{pid}/decision", {"approve": True}).status_code == 403
    decided = sue_api.post(f"/knowledge/exceptions/{pid}/decision", {"approve": True, "note": "ok"})
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "approved" and decided.json()["decided_by"] == "sue"
    again = sue_api.post(f"/knowledge/exceptions/{pid}/decision", {"approve": False, "note": "x"})
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    # the register lists both, newest first, with counts per status
    page = api.get("/knowledge/exceptions").json()
    assert [i["id"] for i in page["items"]] == [pid, out["id"]]
    assert page["count"] == 2 and page["counts"]["approved"] == 1
    assert page["counts"]["granted"] == 1
    assert {e.kind for e in Event.objects.filter(case=case, kind__startswith="exception_")} == {
        "exception_granted",
        "exception_requested",
        "exception_approved",
    }


def test_deny_needs_a_note_and_own_requests_are_not_decided(
    sue_api: Api, sam_api: Api, case: Case, returns_policy: Article
) -> None:
    mine = sue_api.post(
        "/knowledge/exceptions", body(case, parameter="supported_os", value=["Win 8", "Linux"])
    )
    assert mine.status_code == 201 and mine.json()["status"] == "pending"
    eid = mine.json()["id"]
    own = sue_api.post(f"/knowledge/exceptions/{eid}/decision", {"approve": False, "note": "n"})
    assert own.status_code == 403 and "own request" in own.json()["detail"]
    no_note = sam_api.post(f"/knowledge/exceptions/{eid}/decision", {"approve": False})
    assert no_note.status_code == 400 and "note" in no_note.json()["detail"]
    beyond = sam_api.post(f"/knowledge/exceptions/{eid}/decision", {"approve": True})
    assert beyond.status_code == 403 and "an admin must decide" in beyond.json()["detail"]
    assert PolicyException.objects.get().status == "pending"


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"value": "forty"}, 400, "needs a number of days"),
        ({"value": 20}, 400, "not an exception"),
        ({"parameter": "nonsense"}, 400, "no parameter 'nonsense'"),
        ({"article": "resetting-a-router"}, 400, "is not a policy"),
        ({"article": "no-such-article"}, 404, "article not found"),
        ({"case_id": "00000000-0000-0000-0000-000000000000"}, 404, "no case"),
        ({"reason": ""}, 400, "reason"),
        ({"value": {"days": 45}}, 400, "value"),
    ],
)
def test_bad_requests_write_nothing(
    api: Api,
    case: Case,
    returns_policy: Article,
    plain_article: Article,
    fields: dict[str, Any],
    status: int,
    words: str,
) -> None:
    response = api.post("/knowledge/exceptions", body(case, **fields))
    assert response.status_code == status, response.content
    assert words in response.json()["detail"]
    assert not PolicyException.objects.exists()
    assert not Event.objects.filter(kind__startswith="exception_").exists()


def test_unknown_ids_are_404(api: Api) -> None:
    assert api.get("/knowledge/exceptions/nope").status_code == 404
    missing = "/knowledge/exceptions/00000000-0000-0000-0000-000000000000"
    assert api.get(missing).status_code == 404
    assert api.post(missing + "/decision", {"approve": True}).status_code == 404


def test_register_filters_and_keyset_pages(
    api: Api, sue_api: Api, case: Case, returns_policy: Article, supervisor: User
) -> None:
    for days in (40, 41, 42):
        assert api.post("/knowledge/exceptions", body(case, value=days)).status_code == 201
    sue_api.post("/knowledge/exceptions", body(case, value=50))
    services.revise_article(
        article=returns_policy,
        by=supervisor,
        change_note="35 days",
        policy={"parameters": [dict(RETURNS_POLICY["parameters"][0], value=35)]},
    )
    api.post("/knowledge/exceptions", body(case, value=44))
    first = api.get("/knowledge/exceptions", limit=2).json()
    assert len(first["items"]) == 2 and first["count"] == 5
    second = api.get("/knowledge/exceptions", limit=2, cursor=first["next_cursor"]).json()
    third = api.get("/knowledge/exceptions", limit=2, cursor=second["next_cursor"]).json()
    ids = [i["id"] for p in (first, second, third) for i in p["items"]]
    assert len(set(ids)) == 5 and third["next_cursor"] is None
    assert [i["version"] for p in (first, second, third) for i in p["items"]] == [2, 1, 1, 1, 1]
    assert api.get("/knowledge/exceptions", agent="sue").json()["count"] == 1
    assert api.get("/knowledge/exceptions", policy="returns", site="lon").json()["count"] == 5
    assert api.get("/knowledge/exceptions", since="2100-01-01").json()["count"] == 0
    assert api.get("/knowledge/exceptions", status="granted").json()["count"] == 5
    bad = api.get("/knowledge/exceptions", status="maybe")
    assert bad.status_code == 400 and "status must be one of" in bad.json()["detail"]
    assert api.get("/knowledge/exceptions", until="soon").status_code == 400
    assert api.get("/knowledge/exceptions", cursor="garbage").status_code == 400


def test_openapi_documents_the_routes() -> None:
    from loxodon.api import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    paths = schema["paths"]
    assert "/api/v1/knowledge/exceptions" in paths
    assert "/api/v1/knowledge/exceptions/{exception_id}/decision" in paths
    props = schema["components"]["schemas"]["ExceptionIn"]["properties"]
    assert "id or slug" in props["article"]["description"]
