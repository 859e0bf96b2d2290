"""/api/v1/sla: a case's clock, the standards, and who may edit them."""

from __future__ import annotations

from loxodon.core.testing import Api
from loxodon.customers.models import Customer
from loxodon.org.models import Site, User
from loxodon.org.services import create_api_token, create_staff
from loxodon.sla.models import ServiceStandard
from loxodon.sla.services import refresh_case_clock
from loxodon.sla.tests.conftest import open_case, reply


def test_case_clock(api: Api, agent: User, jo: Customer, standard: ServiceStandard) -> None:
    case = open_case(jo, agent)
    assert api.get(f"/sla/cases/{case.pk}").json()["state"] == "none"  # not checked yet
    reply(case)
    refresh_case_clock(case_id=case.pk)
    body = api.get(f"/sla/cases/{case.pk}").json()
    assert body["state"] == "on_track" and body["time_zone"] == "Europe/London"
    assert body["standard"]["priority"] == "normal" and body["standard"]["site"] is None
    targets = {t["target"]: t for t in body["targets"]}
    assert set(targets) == {"first_response", "resolution"}
    assert targets["first_response"]["met_at"] is not None
    assert api.get("/sla/cases/00000000-0000-0000-0000-000000000000").status_code == 404


def test_standards_list_and_edit_rights(
    api: Api, supervisor: User, site: Site, other_site: Site, standard: ServiceStandard
) -> None:
    assert [s["name"] for s in api.get("/sla/standards").json()] == ["Central normal"]
    override = {"site": "lon", "priority": "normal", "first_response_minutes": 30}
    assert api.post("/sla/standards", override).status_code == 403  # agents read only
    sue = Api(create_api_token(username=supervisor.username))
    saved = sue.post("/sla/standards", override)
    assert saved.status_code == 200 and saved.json()["site"] == "lon"
    again = sue.post("/sla/standards", {**override, "first_response_minutes": 20}).json()
    assert again["id"] == saved.json()["id"] and again["first_response_minutes"] == 20
    assert sue.post("/sla/standards", {**override, "site": "man"}).status_code == 403
    assert sue.post("/sla/standards", {"priority": "low"}).status_code == 403  # central: admins
    bad = sue.post("/sla/standards", {**override, "first_response_minutes": -5})
    assert bad.status_code == 400
    create_staff(username="ada", role="admin")
    ada = Api(create_api_token(username="ada"))
    assert (
        ada.post("/sla/standards", {"priority": "low", "resolution_minutes": 2400}).status_code
        == 200
    )
    assert len(api.get("/sla/standards").json()) == 3
    assert ada.client.delete(f"/api/v1/sla/standards/{saved.json()['id']}").status_code == 204
