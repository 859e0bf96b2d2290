from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class ResolutionQuery:
    """Normalised identifiers and profile clues of one contact."""

    email: str | None = None
    phone: str | None = None
    account_number: str | None = None
    legacy: str | None = None
    name: str | None = None
    postcode: str | None = None
    dob: date | None = None
    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    city: str | None = None

    def strong_identifiers(self) -> list[tuple[str, str]]:
        pairs = [
            ("account_number", self.account_number),
            ("email", self.email),
            ("phone", self.phone),
            ("legacy", self.legacy),
        ]
        return [(k, v) for k, v in pairs if v]


@dataclass(frozen=True)
class Candidate:
    customer_id: uuid.UUID
    score: float
    reason: str = ""


@dataclass(frozen=True)
class Resolution:
    customer_id: uuid.UUID | None
    confidence: float
    candidates: list[Candidate] = field(default_factory=list)


class Matcher(Protocol):
    def match(self, query: ResolutionQuery) -> Resolution: ...
