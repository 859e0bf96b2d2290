"""compliance_by_site: what the dashboards read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from loxodon.cases import services as case_services
from loxodon.core.errors import InvalidInput, NotFound
from loxodon.customers.models import Customer
from loxodon.org.models import Site, User
from loxodon.sla.models import ServiceStandard
from loxodon.sla.selectors import ComplianceRow, compliance_by_site
from loxodon.sla.services import refresh_case_clock
from loxodon.sla.tests.conftest import open_case, reply


def test_compliance_counts_met_breached_and_at_risk_per_site(
    agent: User, colleague: User, jo: Customer, standard: ServiceStandard, other_site: Site
) -> None:
    now = timezone.now()
    # Given a case answered and confirmed at once (met)...
    met = open_case(jo, agent)
    reply(met)
    case_services.propose_resolution(case=met, summary="Replaced", actor=agent)
    case_services.confirm_resolution(case=met, via="phone", actor=agent)
    refresh_case_clock(case_id=met.pk, now=now + timedelta(minutes=5))
    # ...one never answered, checked 2 hours later (first response breached)...
    late = open_case(jo, agent)
    refresh_case_clock(case_id=late.pk, now=now + timedelta(hours=2))
    # ...one 50 minutes in (80% of the first response used: at risk)...
    risky = open_case(jo, agent)
    refresh_case_clock(case_id=risky.pk, now=now + timedelta(minutes=50))
    # ...one never checked, and one at Manchester closed without confirmation
    open_case(jo, agent)
    closed = open_case(jo, colleague, site=other_site)
    case_services.close_unconfirmed(case=closed, reason="No answer", actor=colleague)
    refresh_case_clock(case_id=closed.pk, now=now + timedelta(minutes=1))

    rows = compliance_by_site(agent, since=now - timedelta(hours=1), until=now + timedelta(hours=1))

    assert rows == [
        ComplianceRow("lon", "London", 4, met=1, breached=1, open_at_risk=1, percent_met=50.0),
        ComplianceRow("man", "Manchester", 1, met=0, breached=1, open_at_risk=0, percent_met=0.0),
    ]
    only_man = compliance_by_site(
        agent, since=now - timedelta(hours=1), until=now + timedelta(hours=1), site="man"
    )
    assert [r.site_code for r in only_man] == ["man"]
    by_dept = compliance_by_site(
        agent,
        since=now - timedelta(hours=1),
        until=now + timedelta(hours=1),
        department="support-hardware",
    )
    assert [(r.site_code, r.cases) for r in by_dept] == [("man", 1)]
    later = now + timedelta(hours=1)
    assert compliance_by_site(agent, since=later, until=later + timedelta(hours=1)) == []


def test_compliance_is_staff_only_and_validates_the_period(agent: User, db: None) -> None:
    now = timezone.now()
    with pytest.raises(NotFound):
        compliance_by_site(None, since=now - timedelta(days=1), until=now)
    with pytest.raises(InvalidInput):
        compliance_by_site(agent, since=now, until=now - timedelta(days=1))
