"""Effort figures, rollups, CSAT and the rings report, computed from hand-built histories."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loxodon.cases import services as cases
from loxodon.cases.models import Case
from loxodon.core.errors import NotFound, PermissionDenied
from loxodon.customers.models import Customer
from loxodon.customers.services import create_customer
from loxodon.insights import figures
from loxodon.insights.figures import Filters
from loxodon.org.models import Department, Site, User
from loxodon.org.services import create_site, create_staff
from loxodon.timeline.models import Event
from loxodon.timeline.services import record_event, record_repeat


def staff(username: str, site: Site, department: Department) -> User:
    return create_staff(username=username, role="agent", site=site, department=department)


def contact(
    customer: Customer,
    kind: str = "message",
    *,
    case: Case | None = None,
    at: datetime | None = None,
    direction: str = "inbound",
    channel: str = "email",
) -> Event:
    return record_event(
        customer_id=customer.pk,
        case_id=case.pk if case else None,
        kind=kind,
        channel=channel,
        summary=f"{direction} {kind}",
        payload={"direction": direction},
        occurred_at=at,
    )


def everything() -> Filters:
    now = timezone.now()
    return Filters(since=now - timedelta(days=30), until=now + timedelta(days=1))


def backdate(case: Case, days: int) -> None:
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(days=days))


# --- effort per case --------------------------------------------------------------------------


def test_each_effort_figure_of_a_hand_built_case(
    supervisor: User, agent: User, colleague: User, site: Site, departments: dict[str, Department]
) -> None:
    # Given a customer whose case is handed off once, worked by two departments, closed without
    # confirmation, reopened, and finally confirmed by the customer
    customer = create_customer(name="Effie Ort", email="effie@example.com")
    other = create_customer(name="Someone Else")
    now = timezone.now()
    contact(customer, at=now - timedelta(minutes=20))  # the contact that led to the case
    contact(customer, at=now - timedelta(hours=3))  # long before: not about this case
    case = cases.open_case(customer=customer, problem="Printer jams", actor=agent, owner=agent)
    contact(customer, "call", case=case, channel="phone")
    contact(customer, case=case)  # an inbound email on the case
    contact(customer, case=case, direction="outbound")  # ours: not a contact
    contact(customer, "chat", channel="chat")  # on the timeline, during the case
    contact(other, case=None)  # another customer
    side_case = cases.open_case(customer=customer, problem="Invoice query", actor=agent)
    contact(customer, case=side_case)  # belongs to another case
    record_repeat(customer=customer, actor=agent, what="account number")
    record_repeat(customer=customer, actor=agent, what="serial")
    hardware = staff("hank", site, departments["support-hardware"])
    cases.add_task(
        case=case, department=departments["parts"], title="Rollers", actor=agent, assignee=hardware
    )
    task = cases.add_task(
        case=case, department=departments["support-hardware"], title="Clean", actor=agent
    )
    cases.hand_off(case=case, to=colleague, context="Carl knows this model", actor=agent)
    cases.close_unconfirmed(case=case, reason="No answer", actor=colleague)
    cases.reopen_case(case=case, reason="Customer: still jams", actor=colleague)
    cases.complete_task(task=task, note="Cleaned", actor=hardware)
    case.refresh_from_db()
    cases.complete_task(task=case.tasks.get(title="Rollers"), note="Fitted", actor=hardware)
    cases.confirm_resolution(case=case, via="email", actor=colleague)
    contact(customer, at=timezone.now() + timedelta(hours=2))  # after the resolution

    # When the supervisor reads the case's figures
    effort = figures.case_effort(supervisor, case.pk)

    # Then each one is what happened
    assert effort.contacts == 4  # lead-in email, call, inbound email, chat
    assert effort.customer_messages == 3  # the two emails and the chat (not the call)
    assert effort.messages_to_customer == 1
    assert effort.transfers == 1
    assert effort.agents == 3  # ann, carl, hank (assignee and completer)
    assert effort.departments == 2
    assert effort.repeats == 2
    assert effort.reopens == 1
    assert effort.premature_closures == 1  # closed unconfirmed, then reopened
    assert effort.proposals_reopened == 0
    assert effort.closed_unconfirmed is False
    assert effort.days_to_confirmed_resolution is not None
    assert 0 <= effort.days_to_confirmed_resolution < 0.1
    assert effort.owner == "carl" and effort.department_code == "support-hardware"
    assert effort.site_code == "lon"


def test_an_open_or_unconfirmed_case_has_no_days_to_confirmed_resolution(
    supervisor: User, agent: User
) -> None:
    customer = create_customer(name="Una Confirmed")
    open_case = cases.open_case(customer=customer, problem="Slow laptop", actor=agent, owner=agent)
    closed = cases.open_case(customer=customer, problem="Noisy fan", actor=agent, owner=agent)
    cases.close_unconfirmed(case=closed, reason="Customer stopped answering", actor=agent)

    by_id = {e.case_id: e for e in figures.effort_by_case(supervisor, everything())}

    assert by_id[open_case.pk].days_to_confirmed_resolution is None
    assert by_id[open_case.pk].closed_unconfirmed is False
    assert by_id[closed.pk].days_to_confirmed_resolution is None
    assert by_id[closed.pk].closed_unconfirmed is True
    assert by_id[closed.pk].premature_closures == 0


TEAMS = [
    ("support-software", "sofia", "BIOS update"),
    ("support-hardware", "hamid", "New power supply"),
    ("parts", "petra", "New battery"),
    ("warranty", "walt", "Warranty replacement part"),
]


def test_story_2_one_owner_four_departments_no_transfer_no_premature_closure(
    supervisor: User, agent: User, site: Site, departments: dict[str, Department]
) -> None:
    # Given story 2 replayed: one case, one owner, four department tasks, no handoff
    daniel = create_customer(name="Daniel Okafor", email="daniel@example.com", verified=True)
    contact(daniel, at=timezone.now() - timedelta(minutes=5))
    laptop = cases.open_case(
        customer=daniel, problem="My laptop will not power on", actor=agent, owner=agent
    )
    tasks = [
        cases.add_task(
            case=laptop,
            department=departments[dept],
            title=title,
            actor=agent,
            assignee=staff(user, site, departments[dept]),
        )
        for dept, user, title in TEAMS
    ]
    for task in tasks:
        cases.add_note(case=laptop, body=f"{task.title}: done", actor=task.assignee)
        cases.complete_task(task=task, note="Done", actor=task.assignee)  # → proposed at the end
    # ... the customer says it is still broken: the proposal is reopened, never closed
    contact(daniel, case=laptop)
    cases.reopen_case(case=laptop, reason="Customer: still no power", actor=agent)
    extra = cases.add_task(
        case=laptop, department=departments["support-hardware"], title="Reseat DC jack", actor=agent
    )
    cases.complete_task(task=extra, note="Boots", actor=tasks[1].assignee)
    contact(daniel, case=laptop)  # "it works now"
    cases.confirm_resolution(case=laptop, via="email", actor=agent)

    effort = figures.case_effort(supervisor, laptop.pk)

    assert effort.transfers == 0
    assert effort.premature_closures == 0
    assert effort.departments == 4
    assert effort.agents == 5  # the owner and the four teams' agents
    assert effort.proposals_reopened == 1
    assert effort.reopens == 1
    assert effort.contacts == 3
    assert effort.days_to_confirmed_resolution is not None
    assert effort.owner == agent.username


def test_effort_for_many_cases_takes_a_fixed_number_of_queries(
    supervisor: User, agent: User, colleague: User, departments: dict[str, Department]
) -> None:
    def make(n: int) -> None:
        for i in range(n):
            customer = create_customer(name=f"Customer {uuid.uuid4().hex[:6]}")
            case = cases.open_case(customer=customer, problem=f"P{i}", actor=agent, owner=agent)
            contact(customer, case=case)
            cases.add_task(case=case, department=departments["parts"], title="T", actor=agent)
            cases.hand_off(case=case, to=colleague, context="context", actor=agent)

    make(2)
    with CaptureQueriesContext(connection) as few:
        assert len(figures.effort_by_case(supervisor, everything())) == 2
    make(8)
    with CaptureQueriesContext(connection) as many:
        assert len(figures.effort_by_case(supervisor, everything())) == 10
    assert len(few) == len(many) == 5


# --- rollups ----------------------------------------------------------------------------------


def test_rollups_by_site_department_and_period(
    supervisor: User,
    agent: User,
    colleague: User,
    site: Site,
    other_site: Site,
    departments: dict[str, Department],
) -> None:
    # Given two London cases owned by Ann (business sales), one handed off and back, and a
    # Manchester case owned by Carl (hardware) opened 40 days ago
    customer = create_customer(name="Rolly Up")
    london_a = cases.open_case(customer=customer, problem="A", actor=agent, owner=agent)
    contact(customer, case=london_a)
    contact(customer, case=london_a)
    london_b = cases.open_case(customer=customer, problem="B", actor=agent, owner=agent)
    cases.hand_off(
        case=london_b, to=create_staff(username="bo", role="agent"), context="x", actor=agent
    )
    cases.hand_off(case=london_b, to=agent, context="back", actor=agent)
    manchester = cases.open_case(
        customer=customer, problem="C", actor=colleague, owner=colleague, site=other_site
    )
    contact(customer, case=manchester)
    backdate(manchester, 40)
    now = timezone.now()
    window = Filters(since=now - timedelta(days=90), until=now + timedelta(days=1))

    by_site = {r.key: r for r in figures.effort_rollup(supervisor, window, "site")}
    assert set(by_site) == {"lon", "man"}
    assert by_site["lon"].cases == 2 and by_site["lon"].label == "London"
    assert by_site["lon"].transfers == 2 and by_site["lon"].transfers_per_case == 1.0
    assert by_site["man"].cases == 1 and by_site["man"].contacts_per_case == 1.0

    by_department = {r.key: r for r in figures.effort_rollup(supervisor, window, "department")}
    # london_b went to Bo and back to Ann: the current owner's department counts
    assert by_department["sales-business"].cases == 2
    assert by_department["support-hardware"].cases == 1

    months = figures.effort_rollup(supervisor, window, "month")
    assert [r.cases for r in months] == [1, 2]  # 40 days ago is always another month
    weeks = figures.effort_rollup(supervisor, window, "week")
    assert sum(r.cases for r in weeks) == 3 and len(weeks) == 2
    assert [r.key for r in weeks] == sorted(r.key for r in weeks)

    # Filters: one site, one department, a period that leaves the old case out
    only_man = Filters(window.since, window.until, site="man")
    assert [e.case_id for e in figures.effort_by_case(supervisor, only_man)] == [manchester.pk]
    sales = Filters(window.since, window.until, department="sales-business")
    assert len(figures.effort_by_case(supervisor, sales)) == 2
    recent = Filters(now - timedelta(days=30), now + timedelta(days=1))
    assert len(figures.effort_by_case(supervisor, recent)) == 2


def test_filters_from_a_query_string() -> None:
    now = timezone.now()
    default = figures.filters_from({}, now=now)
    assert default.period == "90" and default.until == now
    assert default.since == now - timedelta(days=90)
    assert figures.filters_from({"period": "30"}, now=now).since == now - timedelta(days=30)
    assert figures.filters_from({"period": "bogus"}, now=now).period == "90"
    custom = figures.filters_from(
        {"period": "custom", "from": "2026-01-01", "to": "2026-01-31", "site": "lon"}, now=now
    )
    assert custom.since.isoformat().startswith("2026-01-01T00:00")
    assert custom.until.isoformat().startswith("2026-02-01T00:00")
    assert custom.since.tzinfo is not None and custom.site == "lon"
    assert custom.as_params() == {
        "site": "lon",
        "period": "custom",
        "from": "2026-01-01",
        "to": "2026-01-31",
    }
    with pytest.raises(figures.InvalidInput):
        figures.filters_from({"period": "custom", "from": "January"})
    with pytest.raises(figures.InvalidInput):
        figures.filters_from({"from": "2026-02-01", "to": "2026-01-01"})


# --- surveys: CSAT and the rings --------------------------------------------------------------


def survey(customer: Customer, at: datetime, **payload: Any) -> Event:
    return record_event(
        customer_id=customer.pk,
        kind="survey",
        channel="email",
        summary="Survey",
        payload=payload,
        occurred_at=at,
    )


def test_the_rings_table_from_old_and_new_survey_payloads(supervisor: User) -> None:
    start = timezone.now() - timedelta(days=20)

    def day(n: int) -> datetime:
        return start + timedelta(days=n)

    def person(name: str) -> Customer:
        return create_customer(name=name)

    new = {"comment": ""}
    c1 = person("Pos Pos")
    survey(c1, day(1), touchpoint="sales", satisfaction=5, effort=2, intent="yes", **new)
    survey(c1, day(3), touchpoint="service", satisfaction=4, effort=2, intent="yes", **new)
    c2 = person("Pos Neg old shape")
    survey(c2, day(1), touchpoint="sales", score=4, would_buy_again=True)
    survey(c2, day(2), touchpoint="service", score=2, would_buy_again=False)
    c3 = person("Neg Pos support")
    survey(c3, day(1), touchpoint="sales", satisfaction=1, intent="no")
    survey(c3, day(2), touchpoint="support", satisfaction=5, intent="maybe")
    c4 = person("Neg Neg")
    survey(c4, day(1), touchpoint="sales", satisfaction=2, intent="no")
    survey(c4, day(2), touchpoint="service", satisfaction=1, intent="no")
    c5 = person("Neutral sales")
    survey(c5, day(1), touchpoint="sales", satisfaction=3, intent="maybe")
    survey(c5, day(2), touchpoint="service", satisfaction=5, intent="yes")
    c6 = person("Pos then neutral service")
    survey(c6, day(1), touchpoint="sales", satisfaction=5, intent="yes")
    survey(c6, day(2), touchpoint="service", satisfaction=3, intent="maybe")
    c7 = person("Service only")
    survey(c7, day(2), touchpoint="service", satisfaction=5, intent="yes")
    c8 = person("Latest sales counts")
    survey(c8, day(1), touchpoint="sales", satisfaction=1, intent="no")
    survey(c8, day(2), touchpoint="sales", satisfaction=5, intent="yes")
    survey(c8, day(3), touchpoint="service", satisfaction=4, intent="yes")
    c9 = person("Service before sales")
    survey(c9, day(1), touchpoint="service", satisfaction=1, intent="no")
    survey(c9, day(2), touchpoint="sales", satisfaction=5, intent="yes")
    c10 = person("Neg Neg old shape")
    survey(c10, day(1) - timedelta(days=60), touchpoint="sales", score=1)  # before the period
    survey(c10, day(4), touchpoint="service", score=2, would_buy_again=False)
    c11 = person("Unreadable")
    survey(c11, day(1), touchpoint="sales", satisfaction=9)
    survey(c11, day(2), touchpoint="service", satisfaction="great")

    report = figures.rings(supervisor, everything())

    assert report.pairs == 8
    cells = {(c.sales, c.service): c for c in report.cells}
    assert cells["positive", "positive"].pairs == 2  # c1, c8
    assert cells["positive", "positive"].intent_yes_percent == 100.0
    assert cells["positive", "negative"].pairs == 1  # c2 (old payload)
    assert cells["positive", "negative"].intent_yes_percent == 0.0
    assert cells["negative", "positive"].pairs == 1  # c3 (support counts as service)
    assert cells["negative", "positive"].intent_yes_percent == 0.0  # "maybe" is not "yes"
    assert cells["negative", "negative"].pairs == 2  # c4, c10 (sales before the period)
    assert cells["negative", "negative"].intent_known == 2
    assert report.after_positive_sales.pairs == 4  # c1, c2, c6, c8
    assert report.after_positive_sales.positive_service_percent == 50.0
    assert report.after_negative_sales.pairs == 3  # c3, c4, c10
    assert report.after_negative_sales.positive_service_percent == 33.3
    assert report.neutral_sales_pairs == 1 and report.neutral_service_pairs == 1
    assert report.after_positive_sales.small_sample  # n < 30

    # a period that starts after every service answer has no pairs
    later = Filters(timezone.now() + timedelta(hours=1), timezone.now() + timedelta(days=1))
    assert figures.rings(supervisor, later).empty


def test_csat_by_touchpoint_and_by_case_owners_department(
    supervisor: User, agent: User, colleague: User
) -> None:
    customer = create_customer(name="Cathy Sat")
    at = timezone.now() - timedelta(days=1)
    sales_case = cases.open_case(customer=customer, problem="Order", actor=agent, owner=agent)
    repair = cases.open_case(customer=customer, problem="Repair", actor=colleague, owner=colleague)
    survey(customer, at, touchpoint="sales", satisfaction=5, effort=1, intent="yes",
           case_id=str(sales_case.pk))  # fmt: skip
    survey(customer, at, touchpoint="service", satisfaction=2, effort=6, intent="no",
           case_id=str(repair.pk))  # fmt: skip
    survey(customer, at, touchpoint="service", score=4, effort=3, would_buy_again=True,
           case_id=str(repair.pk))  # fmt: skip
    survey(customer, at, touchpoint="support", satisfaction=3)  # no case

    report = figures.csat(supervisor, everything())

    touch = {r.key: r for r in report.by_touchpoint}
    assert list(touch) == ["sales", "service", "support"]
    assert touch["service"].responses == 2 and touch["service"].csat_percent == 50.0
    assert touch["service"].satisfaction_avg == 3.0 and touch["service"].effort_avg == 4.5
    assert touch["service"].intent_yes_percent == 50.0
    assert touch["support"].csat_percent == 0.0 and touch["support"].intent_yes_percent is None
    depts = {r.key: r for r in report.by_department}
    assert depts["sales-business"].responses == 1 and depts["sales-business"].csat_percent == 100
    assert depts["support-hardware"].responses == 2
    assert depts[figures.NO_CASE].responses == 1 and depts[figures.NO_CASE].label == "No case"
    assert [r.key for r in report.by_department][-1] == figures.NO_CASE

    only_hardware = replace(everything(), department="support-hardware")
    assert [r.key for r in figures.csat(supervisor, only_hardware).by_touchpoint] == ["service"]


def test_figures_are_for_supervisors_and_admins(agent: User, supervisor: User) -> None:
    admin = create_staff(username="ada", role="admin")
    with pytest.raises(PermissionDenied):
        figures.rings(agent, everything())
    with pytest.raises(PermissionDenied):
        figures.effort_by_case(agent, everything())
    with pytest.raises(NotFound):
        figures.csat(None, everything())
    assert figures.rings(admin, everything()).empty
    with pytest.raises(NotFound):
        figures.case_effort(supervisor, uuid.uuid4())


def test_rings_filtered_by_place_keep_the_sales_survey_from_before_the_case(
    supervisor: User, agent: User, colleague: User, other_site: Site
) -> None:
    # Given a sales survey about no case, then a service survey about a Manchester case of Carl's
    customer = create_customer(name="Placed Pair")
    repair = cases.open_case(
        customer=customer, problem="Repair", actor=colleague, owner=colleague, site=other_site
    )
    at = timezone.now() - timedelta(days=2)
    survey(customer, at, touchpoint="sales", satisfaction=5, intent="yes")
    survey(customer, at + timedelta(hours=1), touchpoint="service", satisfaction=2,
           intent="no", case_id=str(repair.pk))  # fmt: skip

    # When the rings are read for Manchester, for hardware, and for London
    manchester = figures.rings(supervisor, replace(everything(), site="man"))
    hardware = figures.rings(supervisor, replace(everything(), department="support-hardware"))
    london = figures.rings(supervisor, replace(everything(), site="lon"))

    # Then the pair is placed by its service answer
    assert manchester.pairs == hardware.pairs == 1
    assert manchester.after_positive_sales.positive_service_percent == 0.0
    assert london.empty


def test_story_2_as_the_demo_builds_it_then_played_to_the_end(
    supervisor: User, departments: dict[str, Department]
) -> None:
    # Given the demo's own story builder (a minimal world: the sites, staff and customers it uses)
    import random

    from loxodon.cases.models import TaskStatus
    from loxodon.demo.stories import create_story_cases
    from loxodon.demo.world import DemoWorld, Person, PersonPlan

    world = DemoWorld(rng=random.Random(1), seed=1, now=timezone.now())
    world.departments = departments
    world.sites = {
        code: create_site(code=code, name=code.title()) for code in ("leeds", "manchester")
    }
    for username, dept in [
        ("amelia.hughes", "sales-business"), ("oliver.grant", "sales-consumer"),
        ("hannah.price", "finance"), ("agent", "support-hardware"),
        ("ravi.shah", "support-software"), ("ewan.mcleod", "support-hardware"),
        ("chloe.evans", "parts"), ("marcus.doyle", "warranty"),
    ]:  # fmt: skip
        world.staff[username] = staff(username, world.sites["manchester"], departments[dept])
    for key, name in (("priya", "Priya Raman"), ("daniel", "Daniel Okafor")):
        plan = PersonPlan(name=name, site_code="manchester")
        world.story_people[key] = Person(plan, create_customer(name=name))
    laptop = create_story_cases(world)["daniel"]

    # Then, half-way through: one owner, four departments, nobody transferred the customer
    effort = figures.case_effort(supervisor, laptop.pk)
    assert (effort.transfers, effort.premature_closures, effort.departments) == (0, 0, 4)
    assert effort.owner == "agent" and effort.days_to_confirmed_resolution is None

    # When the last tasks are done (resolution proposed), the customer says it is still broken,
    # more work is done and the customer confirms
    owner = world.staff["agent"]
    for task in laptop.tasks.filter(status=TaskStatus.OPEN):
        cases.complete_task(task=task, note="Done", actor=task.assignee)
    contact(daniel := world.story_people["daniel"].customer, case=laptop)
    cases.reopen_case(case=laptop, reason="Still will not power on", actor=owner)
    cases.propose_resolution(case=laptop, summary="Battery fitted", actor=owner)
    contact(daniel, case=laptop)
    cases.confirm_resolution(case=laptop, via="email", actor=owner)

    # Then still no transfer and no premature closure: a rejected proposal is not a closure
    effort = figures.case_effort(supervisor, laptop.pk)
    assert (effort.transfers, effort.premature_closures, effort.departments) == (0, 0, 4)
    assert effort.proposals_reopened == 1 and effort.reopens == 1
    assert effort.days_to_confirmed_resolution is not None
