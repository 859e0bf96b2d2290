"""Staff sign-in brute force (issue 10, item 9): django-axes locks a username + address pair
after AXES_FAILURE_LIMIT (5) failures for AXES_COOLOFF_TIME (15 minutes), on the desk's sign-in
and on the Django admin's. While locked even the right password is refused; the lock is logged
(WARNING, AccessAttempt and AccessFailureLog rows); other users on the same address and the same
user elsewhere are not locked; the lock lifts after the cool-off. API tokens are 256-bit random
values looked up by digest: there is nothing to guess."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from pytest_django import Settings

from loxodon.org.models import ApiToken, Site, User
from loxodon.org.services import TOKEN_PREFIX, create_api_token, create_staff

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-wrong"
LOCKED_TEXT = "try again"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Settings) -> None:
    """Passwords hashed cheaply: the test counts attempts, not the cost of each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ann(site: Site) -> User:
    return create_staff(username="ann", password=PASSWORD, role="agent", site=site)


@pytest.fixture
def bea(site: Site) -> User:
    return create_staff(username="bea", password=PASSWORD, role="agent", site=site)


@pytest.fixture
def root(site: Site) -> User:
    """An admin: the Django admin's sign-in works for this role."""
    return create_staff(username="root", password=PASSWORD, role="admin", site=site)


def sign_in(url: str, username: str, password: str, ip: str = "203.0.113.5") -> tuple[Any, Client]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(url, {"username": username, "password": password})
    return response, client


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def limit() -> int:
    return int(django_settings.AXES_FAILURE_LIMIT)


@pytest.mark.parametrize("url", ["/desk/login/", "/admin/login/"])
def test_brute_force_is_locked_after_the_limit_and_logged(
    url: str, ann: User, root: User, caplog: pytest.LogCaptureFixture
) -> None:
    user = root if url.startswith("/admin/") else ann
    caplog.set_level(logging.DEBUG)
    assert limit() == 5

    # Given four wrong passwords: the form again, with its error
    for _ in range(limit() - 1):
        response, client = sign_in(url, user.username, WRONG)
        assert response.status_code == 200
        assert not signed_in(client)

    # When the fifth fails, the pair is locked: a clear 429 page, not the form, not a 500
    response, client = sign_in(url, user.username, WRONG)
    assert response.status_code == 429
    assert LOCKED_TEXT in response.content.decode().lower()

    # Then the right password is refused too, while locked
    right, client = sign_in(url, user.username, PASSWORD)
    assert right.status_code == 429
    assert LOCKED_TEXT in right.content.decode().lower()
    assert not signed_in(client)

    # And the attempts are recorded and logged, without the passwords
    attempt = AccessAttempt.objects.get(username=user.username, ip_address="203.0.113.5")
    assert attempt.failures_since_start >= limit()
    assert attempt.path_info == url
    assert AccessFailureLog.objects.filter(username=user.username, locked_out=True).exists()
    warnings = [r for r in caplog.records if r.name.startswith("axes") and r.levelname == "WARNING"]
    assert any("locking out" in r.getMessage().lower() for r in warnings), warnings
    # ...naming who and from where (AXES_SENSITIVE_PARAMETERS masks only the password)
    assert any(
        user.username in r.getMessage() and "203.0.113.5" in r.getMessage() for r in warnings
    ), warnings
    stored = " ".join(
        str(v) for row in AccessAttempt.objects.values() for v in row.values()
    ) + " ".join(str(v) for row in AccessFailureLog.objects.values() for v in row.values())
    for secret in (WRONG, PASSWORD):
        assert secret not in caplog.text
        assert secret not in stored


def test_the_lock_is_per_user_and_address_and_lifts_after_the_cool_off(
    ann: User, bea: User
) -> None:
    url = "/desk/login/"
    for _ in range(limit()):
        sign_in(url, "ann", WRONG)
    assert sign_in(url, "ann", PASSWORD)[0].status_code == 429

    # Another member of staff at the same address (an office behind one NAT) signs in
    response, client = sign_in(url, "bea", PASSWORD)
    assert response.status_code == 302 and signed_in(client)
    # Ann from another address signs in too (the attacker's address is what is locked)
    response, client = sign_in(url, "ann", PASSWORD, ip="198.51.100.9")
    assert response.status_code == 302 and signed_in(client)

    # After the cool-off, the locked pair may try again, and the right password works
    cool_off = timedelta(hours=float(django_settings.AXES_COOLOFF_TIME))
    assert cool_off == timedelta(minutes=15)
    AccessAttempt.objects.filter(username="ann").update(
        attempt_time=AccessAttempt.objects.get(
            username="ann", ip_address="203.0.113.5"
        ).attempt_time
        - cool_off
        - timedelta(seconds=1)
    )
    response, client = sign_in(url, "ann", PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_the_lockout_page_says_how_long_to_wait(ann: User, settings: Settings) -> None:
    """With `AXES_LOCKOUT_CALLABLE = "loxodon.desk.sign_in.locked_out"`: the desk's own page,
    429 with Retry-After, never cached."""
    settings.AXES_LOCKOUT_CALLABLE = "loxodon.desk.sign_in.locked_out"
    for _ in range(limit()):
        sign_in("/desk/login/", "ann", WRONG)
    response, _ = sign_in("/desk/login/", "ann", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "Sign-in paused" in page
    assert "try again in 15 minutes" in page
    assert 'name="password"' not in page  # no form to keep hammering


def test_api_tokens_are_too_long_to_guess_and_guesses_are_refused(ann: User) -> None:
    raw = create_api_token(username="ann")
    secret = raw.removeprefix(TOKEN_PREFIX)
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) >= 32  # 256 bits
    stored = " ".join(str(v) for v in ApiToken.objects.values().get().values())
    assert secret not in stored  # only a digest and a short prefix are kept

    # A near miss is refused like any other guess
    near = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    for guess in (near, TOKEN_PREFIX + "x" * 43, "", "null"):
        refused = Client(headers={"Authorization": f"Bearer {guess}"}).get("/api/v1/sites")
        assert refused.status_code == 401, guess
    assert (
        Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/sites").status_code == 200
    )
