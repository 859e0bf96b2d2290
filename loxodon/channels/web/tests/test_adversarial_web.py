"""The beacon over real HTTP with refused identity tokens (issue 10, item 5): even from the
browser Jo was identified in, a forged, tampered, expired or foreign-secret token is refused,
and the answer says nothing about her."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from loxodon.channels.web.identity import sign_identity
from loxodon.channels.web.models import WebProperty, WebVisitor
from loxodon.channels.web.tests.conftest import Beacon, hit, token_for

JO = "jo.bloggs@example.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _tampered(prop: WebProperty) -> str:
    body, sig = token_for(prop, email="mallory@evil.example").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["email"] = JO
    return f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}.{sig}"


REFUSED = {
    "bad-signature": lambda p: token_for(p, email=JO) + "x",
    "no-signature": lambda p: (
        _b64(json.dumps({"email": JO, "exp": time.time() + 60}).encode()) + "."
    ),
    "tampered-payload": _tampered,
    "expired": lambda p: token_for(p, email=JO, exp=int(time.time()) - 1),
    "other-secret": lambda p: sign_identity("not-the-shop-secret", {"email": JO}),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_token_from_jos_own_browser_learns_nothing_about_her(
    beacon: Beacon, shop: WebProperty, customer: dict[str, Any], name: str
) -> None:
    # Jo was identified in this browser earlier.
    first = beacon.hits([hit()], identity=token_for(shop, email=JO, name="Jo Bloggs"))
    assert first.json()["identity"] == "accepted", first.json()
    assert str(WebVisitor.objects.get().customer_id) == customer["id"]

    response = beacon.hits([hit(title="Account")], identity=REFUSED[name](shop))
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["identity"] == "refused"
    assert set(answer) <= {"stored", "repeated", "identity", "identity_detail"}
    text = response.content.decode().lower()
    assert "jo" not in text and customer["id"] not in text
