"""Domain errors raised by services and selectors; the API turns them into 4xx responses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: `detail` says what is wrong, in words an integrator can act on."""

    status_code = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status_code = 400


class NotFound(DomainError):
    """Unknown *or forbidden* object: both look the same from outside."""

    status_code = 404


class Conflict(DomainError):
    """The request is well-formed but clashes with current state (illegal transition, key reuse)."""

    status_code = 409


class PermissionDenied(DomainError):
    status_code = 403
