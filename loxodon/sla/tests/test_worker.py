"""Escalation through the real worker: `loxodon db_worker --batch` runs the queued checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from loxodon.cases import services as case_services
from loxodon.cases.models import Case
from loxodon.customers.models import Customer
from loxodon.org.models import User
from loxodon.sla.models import CaseClock, ServiceStandard
from loxodon.sla.tests.conftest import backdate, open_case
from loxodon.timeline.models import Event

TASK = "loxodon.sla.tasks.check_case_sla"


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_the_worker_escalates_a_breach_and_hands_the_case_to_a_supervisor(
    agent: User, supervisor: User, jo: Customer
) -> None:
    # Given a standard that reassigns on breach, and a case opened (committed) 2 hours ago
    ServiceStandard.objects.create(
        priority="high", first_response_minutes=30, resolution_minutes=600, reassign_on_breach=True
    )
    case = open_case(jo, agent, priority="high")
    assert list(DBTaskResult.objects.values_list("task_path", "status")) == [(TASK, "READY")]
    backdate(case, 120)

    # When the real worker runs what is due
    run_worker()

    # Then the breach is on the case's stream, escalated, and a supervisor owns the case
    case.refresh_from_db()
    assert case.owner == supervisor
    kinds = list(
        Event.objects.filter(case=case, kind__startswith="sla_")
        .order_by("occurred_at", "id")
        .values_list("kind", "payload")
    )
    assert [k for k, _ in kinds] == ["sla_breached", "sla_escalated"]
    escalation = kinds[1][1]
    assert escalation["target"] == "first_response"
    assert escalation["notified"] == ["sue"] and escalation["reassigned_to"] == "sue"
    handoff = Event.objects.get(case=case, kind="handoff")
    assert "Service standard missed" in handoff.body
    clock = CaseClock.objects.get(case=case)
    assert clock.state == "breached" and clock.first_response_breached_at is not None
    # ...and the worker queued its next look (resolution warning or the hourly recheck)
    pending = DBTaskResult.objects.filter(status="READY")
    assert pending.count() == 1 and pending.get().run_after > timezone.now()
    assert pending.get().run_after == clock.next_check_at

    # When the worker runs again (nothing new is due): nothing is recorded twice
    run_worker()
    assert Event.objects.filter(case=case, kind__startswith="sla_").count() == 2


@pytest.mark.django_db(transaction=True)
def test_reopening_schedules_a_check_and_the_sweep_catches_up(agent: User, jo: Customer) -> None:
    ServiceStandard.objects.create(priority="normal", first_response_minutes=60)
    case = open_case(jo, agent)
    case_services.close_unconfirmed(case=case, reason="Duplicate", actor=agent)
    DBTaskResult.objects.all().delete()
    case_services.reopen_case(case=case, reason="Not a duplicate after all", actor=agent)
    assert DBTaskResult.objects.filter(task_path=TASK, status="READY").count() == 1

    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(hours=3))
    call_command("sla_sweep", verbosity=0)
    assert Event.objects.filter(case=case, kind="sla_breached").count() == 1


@pytest.mark.django_db(transaction=True)
def test_nothing_is_queued_while_no_standard_exists(agent: User, jo: Customer) -> None:
    open_case(jo, agent)
    assert not DBTaskResult.objects.filter(task_path=TASK).exists()
