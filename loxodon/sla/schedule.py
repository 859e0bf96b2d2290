"""Enqueue the service-standard worker for a case (imported by cases.services: no services
imported here, so there is no import cycle)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.utils import timezone

from loxodon.sla import tasks
from loxodon.sla.models import ServiceStandard

log = logging.getLogger(__name__)


def schedule_sla_check(
    case_id: uuid.UUID | str, *, at: datetime | None = None, standards_exist: bool = False
) -> None:
    """Enqueue `check_case_sla` for the case, at `at` (now when None or past).

    Call it *after commit* (`transaction.on_commit(lambda: schedule_sla_check(case.pk))`).
    Skipped while no standard exists at all (installations without SLAs queue nothing). A
    queue that is down is logged, never raised: `loxodon sla_sweep` catches up.
    """
    job = tasks.check_case_sla
    try:
        if not standards_exist and not ServiceStandard.objects.exists():
            return  # no standards anywhere: nothing to check (`sla_sweep` after adding some)
        if at is not None and at > timezone.now():
            if not job.get_backend().supports_defer:
                return  # the immediate backend cannot wait; the next check or sweep will do
            job = job.using(run_after=at)
        job.enqueue(str(case_id))
    except Exception:
        log.exception("could not enqueue the service-standard check of case %s", case_id)


def schedule_sla_checks(case_ids: list[uuid.UUID]) -> None:
    """`schedule_sla_check` for each of many new cases (asks once whether any standard exists)."""
    try:
        if not ServiceStandard.objects.exists():
            return
    except Exception:
        log.exception("could not enqueue the service-standard checks of %d cases", len(case_ids))
        return
    for case_id in case_ids:
        schedule_sla_check(case_id, standards_exist=True)


def schedule_sla_sweep(site_id: uuid.UUID | str | None) -> None:
    """Enqueue `recheck_open_cases` for one site's open cases (None: every open case), after
    standards, hours or holidays changed. Call it after commit; never raises (see above)."""
    try:
        tasks.recheck_open_cases.enqueue(str(site_id) if site_id is not None else None)
    except Exception:
        log.exception("could not enqueue the service-standard sweep of site %s", site_id)
