"""Two supervisors deciding the same request at the same moment: exactly one decision lands.

Real threads, real transactions (SQLite serialises writers; PostgreSQL locks the row with
select_for_update), so this runs with `transaction=True`.
"""
# ruff: noqa: F811 (pytest fixtures imported from exceptions_fixtures are redefined as arguments)

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from loxodon.cases.models import Case
from loxodon.core.errors import Conflict
from loxodon.knowledge.exceptions import decide_exception, grant_exception
from loxodon.knowledge.models import Article, PolicyException
from loxodon.knowledge.tests.exceptions_fixtures import (  # noqa: F401 - fixtures
    case,
    returns_policy,
    supervisor_two,
)
from loxodon.org.models import User
from loxodon.timeline.models import Event


def _race(*fns: Callable[[], Any]) -> list[dict[str, Any]]:
    barrier = threading.Barrier(len(fns))
    outs: list[dict[str, Any]] = [{} for _ in fns]

    def run(fn: Callable[[], Any], out: dict[str, Any]) -> None:
        try:
            barrier.wait(timeout=10)
            out["result"] = fn()
        except Exception as exc:  # the test inspects what each decider got
            out["error"] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(fn, out)) for fn, out in zip(fns, outs, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outs


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_deciding_at_once_one_wins_the_other_gets_a_conflict(
    agent: User, supervisor: User, supervisor_two: User, case: Case, returns_policy: Article
) -> None:
    for n in range(3):
        exception = grant_exception(
            case=case,
            article=returns_policy,
            parameter="return_window",
            granted_value=50 + n,
            reason="Abroad",
            by=agent,
        )

        def approve_it(e: PolicyException = exception) -> PolicyException:
            return decide_exception(exception=e, by=supervisor, approve=True)

        def deny_it(e: PolicyException = exception) -> PolicyException:
            return decide_exception(exception=e, by=supervisor_two, approve=False, note="no")

        approve, deny = _race(approve_it, deny_it)
        outcomes = [o for o in (approve, deny) if "result" in o]
        refused = [o["error"] for o in (approve, deny) if "error" in o]
        assert len(outcomes) == 1, (approve, deny)
        assert len(refused) == 1 and isinstance(refused[0], Conflict), refused
        exception.refresh_from_db()
        assert exception.status == outcomes[0]["result"].status
        decided = Event.objects.filter(
            kind__in=["exception_approved", "exception_denied"],
            payload__exception_id=str(exception.pk),
        )
        assert decided.count() == 1
