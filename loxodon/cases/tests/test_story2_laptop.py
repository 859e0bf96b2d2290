"""Story 2, end to end through the API: the laptop that still does not work.

Four departments each do their piece under ONE case with ONE owner; finishing all their tasks
only proposes a resolution; the case stays open until the customer confirms; "still broken"
reopens it with its history.
"""

from __future__ import annotations

from typing import Any

from loxodon.cases.models import CaseStatus
from loxodon.core.testing import Api
from loxodon.org.models import Department, Site
from loxodon.org.services import create_api_token, create_staff
from loxodon.timeline.models import Event

TEAMS = [
    ("support-software", "sofia", "BIOS update", "BIOS updated to 1.18; no change"),
    ("support-hardware", "hamid", "New power supply", "PSU replaced; fans spin, no display"),
    ("parts", "petra", "New battery", "Battery shipped on 3 March"),
    ("warranty", "walt", "Warranty replacement part", "Mainboard approved under warranty"),
]


def _contact(api: Api, customer_id: str, ext: str, summary: str, body: str = "") -> str:
    response = api.post(
        "/events",
        {
            "source": "mail",
            "external_id": ext,
            "channel": "email",
            "kind": "message",
            "occurred_at": "2026-03-01T09:00:00+00:00",
            "summary": summary,
            "body": body,
            "customer_id": customer_id,
            "payload": {"direction": "inbound"},
        },
    )
    assert response.status_code == 201
    return str(response.json()["id"])


def test_story_2_the_laptop_that_still_does_not_work(
    api: Api, site: Site, departments: dict[str, Department]
) -> None:
    # Given a customer and four departments, each with its own agent
    teams = {}
    for dept, username, _, _ in TEAMS:
        create_staff(username=username, role="agent", site=site, department=departments[dept])
        teams[dept] = Api(create_api_token(username=username))
    customer = api.post(
        "/customers", {"name": "Daniel Okafor", "email": "daniel@example.com", "verified": True}
    ).json()
    first_contact = _contact(
        api, customer["id"], "m-1", "My laptop will not power on", "It just won't start."
    )

    # When the first agent opens ONE case in the customer's words and owns it
    case = api.post(
        "/cases",
        {"customer_id": customer["id"], "problem": "My laptop will not power on", "owner": "ann"},
    ).json()
    cid = case["id"]
    assert case["status"] == "open"
    # ... and gets every department's work done through tasks (no transfer of the customer)
    tasks = {
        dept: api.post(
            f"/cases/{cid}/tasks", {"department": dept, "title": title, "assignee": user}
        ).json()
        for dept, user, title, _ in TEAMS
    }
    assert len(api.get(f"/cases/{cid}").json()["tasks"]) == 4

    # Then each team completes its piece, writing notes that every other team sees
    for n, (dept, _, _, note) in enumerate(TEAMS):
        team = teams[dept]
        assert team.post(f"/cases/{cid}/notes", {"body": f"{dept}: {note}"}).status_code == 201
        others = {
            e["actor"]
            for e in team.get(f"/customers/{customer['id']}/timeline", kind="note").json()["items"]
        }
        assert len(others) == n + 1  # sees every earlier department's note too
        done = team.post(f"/tasks/{tasks[dept]['id']}/complete", {"note": note})
        assert done.status_code == 200
        status = api.get(f"/cases/{cid}").json()["status"]
        # No department can close the customer's problem by finishing its own piece
        expected = "resolution_proposed" if n == 3 else "open"
        assert status == expected

    # The case is still open from the customer's point of view: nobody may confirm for them
    # except by recording the customer's confirmation, and no department closed it.
    view = api.get(f"/customers/{customer['id']}/view").json()
    assert view["cases"][0]["status"] == "resolution_proposed"
    assert "open_cases" in {a["code"] for a in view["alerts"]}

    # When the customer says it is still broken, the case reopens with its history
    still_broken = _contact(api, customer["id"], "m-2", "Still broken", "Still no power.")
    reopened = api.post(f"/cases/{cid}/reopen", {"reason": "Customer: still no power"}).json()
    assert reopened["status"] == "open" and reopened["reopen_count"] == 1
    assert all(t["status"] == "done" for t in reopened["tasks"])

    # More work, then the customer confirms (linking the contact it came from)
    extra = api.post(
        f"/cases/{cid}/tasks", {"department": "support-hardware", "title": "Reseat the DC jack"}
    ).json()
    teams["support-hardware"].post(f"/tasks/{extra['id']}/complete", {"note": "Reseated; boots"})
    works = _contact(api, customer["id"], "m-3", "It works now, thanks")
    final = api.post(f"/cases/{cid}/confirm", {"via": "email", "event_id": works}).json()
    assert final["status"] == "resolved_confirmed"

    # Figures: one owner throughout, no premature closure, the whole story on one timeline
    history = list(Event.objects.filter(case_id=cid).order_by("recorded_at", "id"))
    statuses = [e.payload["to"] for e in history if e.kind == "status_change" and "to" in e.payload]
    assert statuses == [
        CaseStatus.RESOLUTION_PROPOSED,
        CaseStatus.OPEN,
        CaseStatus.RESOLUTION_PROPOSED,
        CaseStatus.RESOLVED_CONFIRMED,
    ]
    assert CaseStatus.CLOSED_UNCONFIRMED not in statuses
    assert statuses.index(CaseStatus.RESOLVED_CONFIRMED) == len(statuses) - 1
    assert not any(e.kind == "handoff" for e in history)  # distinct owners = 1
    assert final["owner"] == "ann"
    assert {e.actor.username for e in history if e.kind == "task_completed" and e.actor} == {
        user for _, user, _, _ in TEAMS
    }
    customer_timeline: dict[str, Any] = api.get(
        f"/customers/{customer['id']}/timeline", limit=200
    ).json()
    ids = {e["id"] for e in customer_timeline["items"]}
    assert {first_contact, still_broken, works} <= ids
