"""The insights dashboard, its CSV exports and API, through HTTP like a supervisor would."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.cases import services as cases
from loxodon.core.spreadsheet import csv_cell
from loxodon.core.testing import Api, signed_in
from loxodon.customers.services import create_customer
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_api_token, create_staff
from loxodon.timeline.services import record_event

URL = "/desk/insights/"


@pytest.fixture
def board(supervisor: User) -> Client:
    return signed_in(supervisor)


def make_cases(agent: User, colleague: User, departments: dict[str, Department], n: int) -> None:
    for i in range(n):
        customer = create_customer(name=f"Customer {i} {timezone.now().timestamp()}")
        case = cases.open_case(customer=customer, problem=f"Problem {i}", actor=agent, owner=agent)
        cases.add_task(case=case, department=departments["parts"], title="Part", actor=agent)
        cases.hand_off(case=case, to=colleague, context="over to Carl", actor=agent)
        for touchpoint, score in (("sales", 5), ("service", 4 if i % 2 else 2)):
            record_event(
                customer_id=customer.pk,
                kind="survey",
                summary="Survey",
                payload={
                    "touchpoint": touchpoint,
                    "satisfaction": score,
                    "effort": 2,
                    "intent": "yes",
                    "case_id": str(case.pk),
                },
            )


def rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- access -----------------------------------------------------------------------------------


def test_agents_get_a_403_page_and_anonymous_visitors_sign_in_first(desk: Client) -> None:
    refused = desk.get(URL)
    assert refused.status_code == 403
    assert "supervisors and admins" in refused.content.decode()
    assert desk.get(URL + "export/rings.csv").status_code == 403

    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/desk/login/")
    assert Client().get(URL + "export/csat.csv").status_code == 302


def test_supervisors_and_admins_see_the_dashboard(board: Client) -> None:
    page = board.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for title in ("SLA compliance by site", "Customer effort by week", "CSAT by touchpoint",
                  "The rings"):  # fmt: skip
        assert title in html
    # empty states, not empty charts
    assert 'data-empty="effort"' in html and 'data-empty="rings"' in html
    assert "chart.umd.min.js" in html and "insights/dashboard.js" in html
    admin = signed_in(create_staff(username="ada", role="admin"))
    assert admin.get(URL).status_code == 200


# --- the page ---------------------------------------------------------------------------------


def test_the_dashboard_shows_figures_and_chart_data(
    board: Client, agent: User, colleague: User, departments: dict[str, Department]
) -> None:
    make_cases(agent, colleague, departments, 3)

    page = board.get(URL, {"period": "30"})

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-kpi="cases">3<' in html
    assert 'data-kpi="transfers">3<' in html
    assert 'id="chart-effort"' in html and 'data-chart="chart-effort"' in html
    assert 'data-chart="chart-rings"' in html and 'id="rings-table"' in html
    assert "<details" in html  # data-table fallbacks for the charts
    charts = page.context["charts"]
    assert charts["effort"]["series"][1]["data"] == [1.0]  # one transfer per case this week
    assert charts["rings"]["series"][0]["data"] == [100.0, 100.0, None, None]
    # the rings headline: 1 of 3 after positive sales rated service positive
    assert page.context["board"].rings.after_positive_sales.positive_service_percent == 33.3


def test_htmx_filter_changes_get_only_the_results(
    board: Client,
    agent: User,
    colleague: User,
    departments: dict[str, Department],
    other_site: Site,
) -> None:
    make_cases(agent, colleague, departments, 1)

    partial = board.get(URL, {"site": "man"}, headers={"HX-Request": "true"})

    html = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in html and 'id="dash-filters"' not in html
    assert 'data-kpi="cases">0<' in html  # the only case is in London
    assert "site: Manchester" in html


def test_a_bad_date_is_explained_and_the_default_period_shown(board: Client) -> None:
    page = board.get(URL, {"period": "custom", "from": "2026-02-30"})
    assert page.status_code == 200
    assert "from must be a date" in page.content.decode()
    assert page.context["filters"].period == "90"


def test_the_dashboard_takes_a_fixed_number_of_queries(
    board: Client, agent: User, colleague: User, departments: dict[str, Department]
) -> None:
    make_cases(agent, colleague, departments, 1)
    board.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert board.get(URL).status_code == 200
    make_cases(agent, colleague, departments, 6)
    with CaptureQueriesContext(connection) as many:
        assert board.get(URL).status_code == 200
    # session + user (+ their site and department in the nav), 5 for effort, 2 for surveys,
    # 1 for SLA compliance, 2 for the filter choices
    assert len(few) == len(many) == 14, [q["sql"][:120] for q in many.captured_queries]


# --- CSV exports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 20", "'+44 20"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        (3, "3"),
        (None, ""),
        (True, "yes"),
    ],
)
def test_csv_cells_never_start_like_a_formula(value: Any, expected: str) -> None:
    assert csv_cell(value) == expected


def test_csv_exports_carry_the_filters_and_are_formula_safe(
    board: Client, agent: User, colleague: User, departments: dict[str, Department]
) -> None:
    customer = create_customer(name="Mallory")
    cases.open_case(
        customer=customer, problem='=HYPERLINK("http://evil","click")', actor=agent, owner=agent
    )
    make_cases(agent, colleague, departments, 2)

    response = board.get(URL + "export/effort-by-case.csv", {"period": "30"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = rows(response)
    assert table[0][:3] == ["case_id", "title", "status"]
    titles = [r[1] for r in table[1:]]
    assert '\'=HYPERLINK("http://evil","click")' in titles
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in table for cell in r)

    other_site = board.get(URL + "export/effort-by-case.csv", {"site": "man"})
    assert len(rows(other_site)) == 1  # header only

    by_department = rows(board.get(URL + "export/effort-rollup.csv", {"by": "department"}))
    assert by_department[0][0] == "department_key"
    # Mallory's case stays with Ann; the others were handed to Carl (hardware)
    assert {r[0] for r in by_department[1:]} == {"sales-business", "support-hardware"}
    assert rows(board.get(URL + "export/csat.csv"))[1][0] == "touchpoint"
    rings = rows(board.get(URL + "export/rings.csv"))
    assert rings[1][:3] == ["positive", "positive", "1"]

    assert board.get(URL + "export/effort-rollup.csv", {"by": "planet"}).status_code == 400
    assert board.get(URL + "export/secrets.csv").status_code == 404


# --- API --------------------------------------------------------------------------------------


def test_the_api_is_for_supervisors(
    supervisor: User, agent: User, colleague: User, departments: dict[str, Department]
) -> None:
    make_cases(agent, colleague, departments, 2)
    api = Api(create_api_token(username=supervisor.username))
    agents_api = Api(create_api_token(username=agent.username))

    effort = api.get("/insights/effort", group_by="department", with_cases="true")
    assert effort.status_code == 200, effort.content
    body = effort.json()
    assert body["rollup"][0]["key"] == "support-hardware" and body["rollup"][0]["transfers"] == 2
    assert len(body["cases"]) == 2 and body["cases"][0]["transfers"] == 1
    one = api.get(f"/insights/cases/{body['cases'][0]['case_id']}/effort")
    assert one.status_code == 200 and one.json()["departments"] == 1
    assert api.get("/insights/cases/not-a-uuid/effort").status_code in (400, 404)
    rings = api.get("/insights/rings", since=(timezone.now() - timedelta(days=2)).date())
    assert rings.status_code == 200 and rings.json()["pairs"] == 2
    csat = api.get("/insights/csat", site="lon")
    assert csat.status_code == 200
    assert {r["key"] for r in csat.json()["by_touchpoint"]} == {"sales", "service"}
    assert api.get("/insights/effort", group_by="planet").status_code == 400
    assert api.get("/insights/effort", since="yesterday").status_code == 400

    for path in ("/insights/effort", "/insights/rings", "/insights/csat"):
        assert agents_api.get(path).status_code == 403
        assert Api(None).get(path).status_code == 401
