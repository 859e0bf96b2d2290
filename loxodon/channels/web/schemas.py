"""What the beacon accepts (shape and size limits) and what the staff API returns."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Schema
from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from loxodon.core.schemas import StrictIn

MAX_BEACON_BYTES = 64 * 1024

HitId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
# The page's random visitor id (beacon.js: 22 url-safe characters); long enough not to guess.
VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
OptionKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
OptionValue = Annotated[str, StringConstraints(max_length=200)] | bool | int | float | None


class HitIn(StrictIn):
    id: HitId
    type: Literal["page_view", "search", "configuration"]
    at: AwareDatetime
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    title: Annotated[str, StringConstraints(max_length=300)] = ""
    referrer: Annotated[str, StringConstraints(max_length=2000)] = ""
    query: Annotated[str, StringConstraints(max_length=300)] = ""
    product: Annotated[str, StringConstraints(max_length=200)] = ""
    options: dict[OptionKey, OptionValue] = Field(default_factory=dict, max_length=30)

    @model_validator(mode="after")
    def _needs_its_subject(self) -> HitIn:
        if self.type == "search" and not self.query:
            raise ValueError("a search needs its query")
        if self.type == "configuration" and not self.product:
            raise ValueError("a configuration needs its product")
        return self


class BeaconIn(StrictIn):
    key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    visitor: VisitorId
    identity: Annotated[str, StringConstraints(max_length=2048)] | None = None
    # the page's clock when it sent the beacon: corrects hit times for a wrong client clock
    sent_at: AwareDatetime | None = None
    hits: list[HitIn] = Field(min_length=1, max_length=50)


class WebPropertyOut(Schema):
    id: str
    name: str
    site: str | None
    public_key: str
    allowed_origins: list[str]
    active: bool
