"""Services refuse blank required text even when called directly (CLI, admin, tasks)."""

from __future__ import annotations

from typing import Any

import pytest

from loxodon.cases import services
from loxodon.cases.models import Case
from loxodon.core.errors import InvalidInput
from loxodon.customers.models import Customer
from loxodon.org.models import User


@pytest.fixture
def case(customer: dict[str, Any], agent: User) -> Case:
    return services.open_case(
        customer=Customer.objects.get(pk=customer["id"]),
        problem="Broken",
        actor=agent,
        owner=agent,
    )


@pytest.mark.parametrize(
    ("verb", "kwargs"),
    [
        (services.close_unconfirmed, {"reason": "  "}),
        (services.propose_resolution, {"summary": ""}),
        (services.add_note, {"body": "\n"}),
    ],
)
def test_blank_text_is_refused(case: Case, agent: User, verb: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="is required"):
        verb(case=case, actor=agent, **kwargs)
    case.refresh_from_db()
    assert case.status == "open" and case.version == 1


def test_blank_problem_is_refused(customer: dict[str, Any], agent: User) -> None:
    with pytest.raises(InvalidInput, match="problem is required"):
        services.open_case(
            customer=Customer.objects.get(pk=customer["id"]), problem=" ", actor=agent
        )
    assert not Case.objects.exists()
