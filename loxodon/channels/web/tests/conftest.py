"""Fixtures for the web channel: a property for https://shop.example.com and a beacon client."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty
from loxodon.channels.web.services import create_web_property
from loxodon.org.models import Site

SHOP = "https://shop.example.com"
VISITOR = "v-0123456789abcdefABCD"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters live in a per-process cache: start every test from zero."""
    caches[settings.RATELIMIT_USE_CACHE].clear()
    yield
    caches[settings.RATELIMIT_USE_CACHE].clear()


@pytest.fixture
def shop(site: Site) -> WebProperty:
    return create_web_property(name="Shop", site_code=site.code, origins=[SHOP])


def hit(
    kind: str = "page_view", *, at: datetime | str | None = None, **fields: Any
) -> dict[str, Any]:
    """A hit as beacon.js sends it; ids are unique per test run."""
    body: dict[str, Any] = {
        "id": f"h{next(_ids)}",
        "type": kind,
        "at": at
        if isinstance(at, str)
        else (at or timezone.now() - timedelta(minutes=5)).isoformat(),
        "url": fields.pop("url", "https://shop.example.com/laptops"),
        "title": fields.pop("title", "Laptops"),
    }
    body.update(fields)
    return body


def token_for(prop: WebProperty, **claims: Any) -> str:
    claims.setdefault("exp", int(time.time()) + 600)
    return sign_identity(prop.identity_secret, claims)


class Beacon:
    """Posts beacon bodies like a page on the shop's origin would."""

    def __init__(self, prop: WebProperty, origin: str | None = SHOP) -> None:
        self.prop = prop
        self.client = Client(headers={"Origin": origin} if origin else None)

    def body(self, hits: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {"key": self.prop.public_key, "visitor": VISITOR, "hits": hits, **extra}

    def send(
        self, body: dict[str, Any] | str | bytes, content_type: str = "text/plain;charset=UTF-8"
    ) -> Any:
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post("/web/beacon", raw, content_type=content_type)

    def hits(self, hits: list[dict[str, Any]], **extra: Any) -> Any:
        return self.send(self.body(hits, **extra))


@pytest.fixture
def beacon(shop: WebProperty) -> Beacon:
    return Beacon(shop)
