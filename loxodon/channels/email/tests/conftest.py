"""Fixtures for inbound mail: an isolated spool and media folder, Jo Bloggs with a case, staff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loxodon.cases.models import Case
from loxodon.cases.services import open_case
from loxodon.channels.email.mail_spool import spool_message
from loxodon.channels.email.models import InboundMail
from loxodon.channels.email.services import process_spooled_mail
from loxodon.core.testing import Api, signed_in
from loxodon.customers.models import Customer
from loxodon.org.models import User
from loxodon.org.services import create_api_token
from loxodon.timeline.models import Event

SUPPORT = "support@loxodon.test"
JO = "jo.bloggs@example.com"


@pytest.fixture(autouse=True)
def mail_settings(settings: Any, tmp_path: Path) -> Any:
    settings.LOXODON_MAIL_SPOOL = str(tmp_path / "spool")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LOXODON_SUPPORT_EMAIL = SUPPORT
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def supervisor_api(supervisor: User) -> Api:
    return Api(create_api_token(username=supervisor.username))


@pytest.fixture
def supervisor_desk(supervisor: User) -> Client:
    return signed_in(supervisor)


@pytest.fixture
def agent_desk(agent: User) -> Client:
    return signed_in(agent)


@pytest.fixture
def jo_case(customer: dict[str, Any], agent: User) -> Case:
    """Jo Bloggs (verified jo.bloggs@example.com) and her open case about a laptop."""
    return open_case(
        customer=Customer.objects.get(pk=customer["id"]),
        problem="Laptop will not start after the update",
        actor=agent,
        owner=agent,
    )


def deliver(
    raw: bytes, *, mail_from: str = "sender@example.net", rcpt: tuple[str, ...] = (SUPPORT,)
) -> InboundMail:
    """Spool one message as the SMTP listener would, and process the spool."""
    spool_message(raw, mail_from=mail_from, rcpt_tos=list(rcpt))
    handled = process_spooled_mail()
    assert len(handled) == 1, handled
    return handled[0]


def event_of(inbound: InboundMail) -> Event:
    assert inbound.event_id is not None, inbound.error
    return Event.objects.get(pk=inbound.event_id)
