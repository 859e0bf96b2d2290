"""The service-standard worker job (run by `loxodon db_worker`; ADR 10).

`check_case_sla` recomputes one case's clock, records warnings/breaches once, escalates, and
re-enqueues itself for the next moment (`sla.services.refresh_case_clock`). Duplicate or late
runs are harmless: everything is derived from the case's history.
"""

from __future__ import annotations

import uuid

from django_tasks import task


@task()
def check_case_sla(case_id: str) -> str:
    """Check one case's service standards now; returns the clock's state."""
    from loxodon.sla.services import refresh_case_clock  # services enqueue this task

    row = refresh_case_clock(case_id=uuid.UUID(case_id))
    return row.state if row is not None else "gone"


@task()
def recheck_open_cases(site_id: str | None) -> int:
    """Recheck the open cases of one site (None: every site) after its standards, hours or
    holidays changed; returns how many were checked."""
    from loxodon.sla.services import sweep_open_cases

    return sweep_open_cases(site_id=uuid.UUID(site_id) if site_id else None)
