"""Point 5 alerts on the 360 view that the sla app feeds, each saying why it shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loxodon.cases import services as case_services
from loxodon.core.testing import Api, event
from loxodon.customers.models import Customer
from loxodon.org.models import Department, User
from loxodon.sla.models import ServiceStandard
from loxodon.sla.services import refresh_case_clock
from loxodon.sla.tests.conftest import backdate, open_case
from loxodon.timeline.services import record_event


def alerts_of(api: Api, customer: Customer) -> dict[str, Any]:
    view = api.get(f"/customers/{customer.pk}/view").json()
    return {a["code"]: a for a in view["alerts"]}


def test_sla_alerts_explain_which_case_and_when(
    api: Api, agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    risky = open_case(jo, agent)
    backdate(risky, 50)  # 50 of 60 minutes used: past the 80% warning
    late = open_case(jo, agent)
    late.problem = "Screen is cracked"
    late.save(update_fields=["problem"])
    backdate(late, 130)  # first response missed 70 minutes ago
    for case in (risky, late):
        refresh_case_clock(case_id=case.pk)
    alerts = alerts_of(api, jo)
    assert alerts["sla_at_risk"]["level"] == "warning"
    assert alerts["sla_at_risk"]["message"].startswith(
        "Case 'Laptop will not start' is about to miss its service standard: due in 9 min"
    ) or alerts["sla_at_risk"]["message"].startswith(
        "Case 'Laptop will not start' is about to miss its service standard: due in 10 min"
    )
    assert alerts["sla_breached"]["level"] == "danger"
    assert alerts["sla_breached"]["message"].startswith(
        "Case 'Screen is cracked' missed its service standard 1 h ago (was due "
    )


def test_many_open_tasks_across_departments(
    api: Api, agent: User, jo: Customer, departments: dict[str, Department]
) -> None:
    case = open_case(jo, agent)
    for code in ("parts", "warranty"):
        case_services.add_task(case=case, department=departments[code], title=code, actor=agent)
    assert "many_open_tasks" not in alerts_of(api, jo)  # two tasks are not many
    other = open_case(jo, agent)
    case_services.add_task(case=other, department=departments["parts"], title="x", actor=agent)
    message = alerts_of(api, jo)["many_open_tasks"]["message"]
    assert message.startswith("3 open tasks across 2 departments (Parts, Warranty)")


def test_many_tasks_in_one_department_is_not_spread_around(
    api: Api, agent: User, jo: Customer, departments: dict[str, Department]
) -> None:
    case = open_case(jo, agent)
    for n in range(4):
        case_services.add_task(
            case=case, department=departments["parts"], title=f"{n}", actor=agent
        )
    assert "many_open_tasks" not in alerts_of(api, jo)


def test_last_survey_negative_reads_satisfaction_and_falls_back_to_score(
    api: Api, jo: Customer
) -> None:
    # an event stored before survey payloads were checked (`score`, not `satisfaction`)
    record_event(
        customer_id=jo.pk,
        kind="survey",
        channel="web",
        summary="Survey",
        payload={"score": 1},
        occurred_at=datetime(2026, 10, 1, 10, tzinfo=UTC),
    )
    assert "satisfaction 1/5" in alerts_of(api, jo)["last_survey_negative"]["message"]
    new = event(
        "s2", customer_id=str(jo.pk), kind="survey", channel="web",
        payload={"touchpoint": "support", "satisfaction": 4, "effort": 2, "intent": "yes"},
        occurred_at="2026-11-01T10:00:00+00:00",
    )  # fmt: skip
    api.post("/events/batch", {"events": [new]})
    assert "last_survey_negative" not in alerts_of(api, jo)


def test_alerts_keep_the_view_query_count(
    api: Api, agent: User, jo: Customer, standard: ServiceStandard
) -> None:
    from loxodon.customers.tests.test_view_360 import VIEW_QUERIES, _count_view_queries

    case = open_case(jo, agent)
    refresh_case_clock(case_id=case.pk, now=case.created_at + timedelta(minutes=55))
    assert _count_view_queries(api, str(jo.pk)) == VIEW_QUERIES
