"""The demo world as it is being built: what each seeding phase hands to the next."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from loxodon.customers.models import Customer
from loxodon.org.models import Department, Role, Site, User

SOURCE = "demo"  # the `source` of every demo event: (source, external_id) keeps re-runs idempotent
PASSWORD = "loxodon-demo"  # noqa: S105 - the published password of the demo logins


class Progress(Protocol):
    """Where seeding reports how far it has got (a rich progress bar on the command line)."""

    def phase(self, description: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class NoProgress:
    def phase(self, description: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


@dataclass
class PersonPlan:
    """A customer before they exist: everything create_customer needs, decided up front."""

    name: str
    site_code: str
    email: str | None = None
    phone: str | None = None
    account_number: str | None = None
    date_of_birth: date | None = None
    street: str = ""
    city: str = ""
    postcode: str = ""
    account: dict[str, Any] | None = None
    verified: bool = True


@dataclass
class Person:
    """A created demo customer with the plan they were made from."""

    plan: PersonPlan
    customer: Customer

    @property
    def business(self) -> bool:
        return self.plan.account is not None

    @property
    def first_name(self) -> str:
        return self.customer.first_name or self.customer.name


@dataclass
class DemoWorld:
    rng: random.Random
    seed: int
    now: datetime
    sites: dict[str, Site] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    staff: dict[str, User] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    story_people: dict[str, Person] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.date()

    def staff_in(self, department: str) -> list[User]:
        return [
            u
            for u in self.staff.values()
            if u.department is not None and u.department.code == department
        ]

    def pick_staff(self, department: str) -> User:
        members = self.staff_in(department)
        return self.rng.choice(members) if members else self.pick_frontline()

    def frontline(self) -> list[User]:
        """Who may own a case: agents and supervisors with a department."""
        return [
            u
            for u in self.staff.values()
            if u.role in (Role.AGENT, Role.SUPERVISOR) and u.department is not None
        ]

    def pick_frontline(self) -> User:
        return self.rng.choice(self.frontline())
