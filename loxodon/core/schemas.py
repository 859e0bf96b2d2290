"""Shared API schema pieces."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Schema
from pydantic import BaseModel, ConfigDict


class StrictIn(BaseModel):
    """Request bodies refuse unknown fields (no smuggled `id`, `owner_id`, `customer_id`...).

    Plain pydantic models, not Ninja `Schema`s: input needs no ORM attribute resolution, and
    validating a 1,000-event batch is ~15x faster without it.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorOut(Schema):
    detail: str


class ApiRequest(HttpRequest):
    """What an API view receives: Ninja puts the authenticated staff user on `request.auth`."""

    auth: Any
