from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from loxodon.org.models import User


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def desk(agent: User) -> Client:
    """A browser session signed in as the agent (Ann, London, business sales)."""
    client = Client()
    client.force_login(agent)
    return client


from loxodon.desk.tests.browser import chromium, live_desk  # noqa: E402, F401 - fixtures
