# ruff: noqa: F811 (pytest fixtures imported from auth_fixtures are redefined as arguments)
"""Magic links under attack (issue 10, item 8): 1,000 guessed codes, reuse, expiry, and the
lock-out window, through HTTP like an attacker would.

What test_auth_signin.py already proves is not repeated here: single use and a refused reuse
identical to a made-up code, expiry, the token absent from logs, Location and stored rows, and
10 code attempts per IP then 429. The Chromium test (test_auth_browser.py) proves the token
never reaches a request URL, a Referer or the ASGI server's access log.

Decided and proven here: while an address is locked out (`code_ip`, 10 per 10 minutes), even
the right code is refused with 429 and is *not* spent; once the window has passed it works if
it is still within its 15 minutes. Guesses spread over many addresses are each refused, and
none gets in: a code is 256 random bits.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_ratelimit import core as ratelimit_core

from loxodon.portal.access import SESSION_KEY
from loxodon.portal.auth import issue_link
from loxodon.portal.models import MagicLink, PortalLogin
from loxodon.portal.tests.auth_fixtures import (  # noqa: F401 (fixtures)
    alice,
    alice_login,
    fresh_rate_limits,
)

pytestmark = pytest.mark.django_db

GUESSES = 1_000
SPREAD_GUESSES = 200  # from 20 addresses, 10 each: just under every address's limit
USE = "/portal/sign-in/link"


def guess() -> str:
    return secrets.token_urlsafe(32)  # the same shape as a real code


class Later:
    """django-ratelimit's clock moved on (its windows are computed from `time.time()`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        return time.time() + self.seconds


def test_a_thousand_guessed_codes_from_one_address_are_refused_then_limited(
    alice_login: PortalLogin, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    real = issue_link(purpose=MagicLink.Purpose.SIGN_IN, email=alice_login.email, login=alice_login)
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    guesses = [guess() for _ in range(GUESSES)]
    statuses: dict[int, int] = {}
    retry_after: set[str] = set()
    for code in guesses:
        response = attacker.post(USE, {"code": code})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 429:
            retry_after.add(response["Retry-After"])
        assert code.encode() not in response.content
    # 10 were checked (and refused), the other 990 never reached the lookup
    assert statuses == {400: 10, 429: GUESSES - 10}, statuses
    assert all(0 < int(s) <= 600 for s in retry_after)
    assert SESSION_KEY not in attacker.session

    # While locked, the right code is refused too, and not spent
    locked = attacker.post(USE, {"code": real.token})
    assert locked.status_code == 429
    assert SESSION_KEY not in attacker.session
    assert MagicLink.objects.get(pk=real.link.pk).used_at is None

    # The limit was logged with the address; no code (guessed or real) reached any log
    assert "portal rate limit code_ip reached from 203.0.113.66" in caplog.text
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for code in [*guesses, real.token]:
        assert code not in logged

    # After the 10-minute window the same address may try again: the right code (still within
    # its 15 minutes) signs in once
    monkeypatch.setattr(ratelimit_core, "time", Later(601))
    later = attacker.post(USE, {"code": real.token})
    assert later.status_code == 302 and later["Location"] == "/portal/"
    assert attacker.session[SESSION_KEY] == str(alice_login.pk)
    assert Client(REMOTE_ADDR="203.0.113.67").post(USE, {"code": real.token}).status_code == 400


def test_guesses_spread_over_many_addresses_all_fail(alice_login: PortalLogin) -> None:
    """A botnet stays under every address's limit: each guess is still refused, identically."""
    real = issue_link(purpose=MagicLink.Purpose.SIGN_IN, email=alice_login.email, login=alice_login)
    pages: set[bytes] = set()
    for n in range(SPREAD_GUESSES):  # each refused guess is a full lookup: 200 keep this fast
        client = Client(REMOTE_ADDR=f"198.51.100.{n // 10 + 1}")
        response = client.post(USE, {"code": guess()})
        assert response.status_code == 400
        assert SESSION_KEY not in client.session
        pages.add(strip_csrf(response.content))
    assert len(pages) == 1, "every refusal is the same page"
    assert MagicLink.objects.get(pk=real.link.pk).used_at is None


def strip_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def test_a_used_or_expired_code_stays_refused_after_the_window(
    alice_login: PortalLogin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting out a lock-out does not revive a spent or expired link."""
    used = issue_link(purpose=MagicLink.Purpose.SIGN_IN, email=alice_login.email, login=alice_login)
    assert Client().post(USE, {"code": used.token}).status_code == 302
    expired = issue_link(
        purpose=MagicLink.Purpose.SIGN_IN, email=alice_login.email, login=alice_login
    )
    MagicLink.objects.filter(pk=expired.link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = Client(REMOTE_ADDR="203.0.113.70")
    for _ in range(10):
        client.post(USE, {"code": guess()})
    assert client.post(USE, {"code": used.token}).status_code == 429
    monkeypatch.setattr(ratelimit_core, "time", Later(601))
    for token in (used.token, expired.token):
        response = client.post(USE, {"code": token})
        assert response.status_code == 400, token
        assert SESSION_KEY not in client.session
