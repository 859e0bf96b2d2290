"""Fixtures for service-standard tests: a London site open 24/7 unless a test says otherwise,
a supervisor, a customer, and helpers that write a case's history through the services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from loxodon.cases import services as case_services
from loxodon.cases.models import Case
from loxodon.customers.models import Customer
from loxodon.customers.services import create_customer
from loxodon.org.models import Site, User
from loxodon.sla.models import ServiceStandard
from loxodon.timeline.services import record_event


@pytest.fixture
def jo(site: Site) -> Customer:
    return create_customer(name="Jo Bloggs", email="jo@example.com", site=site)


@pytest.fixture
def standard(db: None) -> ServiceStandard:
    """Central, normal priority: first response 60 min, next 120 min, resolution 8 h."""
    return ServiceStandard.objects.create(
        priority="normal",
        name="Central normal",
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
        warn_at_percent=80,
    )


def open_case(customer: Customer, owner: User | None, **kw: Any) -> Case:
    return case_services.open_case(
        customer=customer, problem="Laptop will not start", actor=owner, owner=owner, **kw
    )


def reply(case: Case, at: datetime | None = None) -> None:
    """An outbound message to the customer on the case (what the outbound worker records)."""
    record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="message",
        channel="email",
        summary="Re: laptop",
        payload={"direction": "outbound"},
        occurred_at=at,
    )


def customer_writes(case: Case, at: datetime | None = None) -> None:
    record_event(
        customer_id=case.customer_id,
        case_id=case.pk,
        kind="message",
        channel="email",
        summary="It is still broken",
        payload={"direction": "inbound"},
        occurred_at=at,
    )


def backdate(case: Case, minutes: int) -> datetime:
    """Move the case's opening `minutes` into the past (its clock starts there)."""
    opened = case.created_at - timedelta(minutes=minutes)
    Case.objects.filter(pk=case.pk).update(created_at=opened)
    case.created_at = opened
    return opened
