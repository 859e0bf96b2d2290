"""The call on the desk's customer page, its rendering from the payload alone, and the command
that registers an integration."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import Client

from loxodon.channels.voice.models import VoiceIntegration
from loxodon.channels.voice.tests.deliveries import Pbx, ended, ivr, routed, started
from loxodon.org.models import Site
from loxodon.timeline.models import Event


def test_the_customer_page_shows_the_call_with_what_the_ivr_collected(
    pbx: Pbx, desk: Client, customer: dict[str, Any]
) -> None:
    for step in (started, ivr, routed, ended):
        assert pbx.send(step()).status_code == 201
    response = desk.get(f"/desk/customers/{customer['id']}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Call from +44 1632 960001 · IVR verified AC100200 · routed to Ann Agent · 4 min 12 s"
    ) in html
    assert "Verified by IVR" in html
    assert "driver for refurbished laptop" in html
    assert (
        '<a href="https://recordings.example.com/c1.mp3" target="_blank" '
        'rel="noopener noreferrer">Listen to the recording</a>'
    ) in html
    assert "IVR completed" in html and "Call ended" in html  # the steps


def _call_event(**payload: Any) -> Event:
    return Event(
        occurred_at=datetime(2026, 11, 24, 9, tzinfo=UTC),
        channel="phone",
        kind="call",
        summary="Call from +44 1632 960001",
        payload={"call_id": "c1", "caller_number": "+44 1632 960001", "status": "ended", **payload},
    )


@pytest.mark.django_db
def test_the_call_renders_from_its_payload_without_queries(
    django_assert_num_queries: Any,
) -> None:
    event = _call_event(
        ivr_completed=True,
        verified=False,
        account_number_entered="AC1",
        menu_path=["billing"],
        routed_to={"department": "finance", "department_name": "Finance"},
        recording_url="javascript:alert(1)",
        transcript_ref="javascript:alert(2)",
        steps=[{"type": "call.started", "at": "2026-11-24T09:00:00+00:00", "id": "x"}],
    )
    with django_assert_num_queries(0):
        html = render_to_string("desk/_event.html", {"event": event})
    assert "Not verified" in html and "AC1" in html and "Finance" in html
    assert "javascript:" not in html.replace("javascript:alert(2)", "")  # shown, never linked
    assert 'href="javascript' not in html
    assert "Listen to the recording" not in html
    assert "Call started" in html


@pytest.mark.django_db
def test_call_events_from_other_systems_keep_the_default_rendering() -> None:
    event = Event(
        occurred_at=datetime(2026, 11, 24, 9, tzinfo=UTC),
        channel="phone",
        kind="call",
        summary="Call: printer jam",
        body="Talked the customer through a fix.",
        payload={"direction": "inbound", "duration_seconds": 300},
    )
    html = render_to_string("desk/_event.html", {"event": event})
    assert "Talked the customer through a fix." in html and "Direction" in html
    assert "no IVR" not in html


def test_create_voice_integration_prints_the_key_id_and_secret_once(site: Site) -> None:
    out = io.StringIO()
    call_command("create_voice_integration", "London PBX", "--site", "lon", stdout=out)
    values = dict(line.split("=", 1) for line in out.getvalue().split())
    integration = VoiceIntegration.objects.get(key_id=values["LOXODON_VOICE_KEY_ID"])
    assert integration.secret == values["LOXODON_VOICE_SECRET"]
    assert integration.site == site and integration.active
    assert integration.key_id.startswith("vk_") and integration.secret.startswith("vs_")


@pytest.mark.django_db
def test_create_voice_integration_refuses_an_unknown_site() -> None:
    with pytest.raises(CommandError, match="no site with code 'nowhere'"):
        call_command("create_voice_integration", "PBX", "--site", "nowhere")
    assert not VoiceIntegration.objects.exists()


def test_what_the_ivr_collected_is_in_the_told_us_box_before_the_agent_speaks(
    pbx: Pbx, desk: Client, customer: dict[str, Any]
) -> None:
    # The box covers the last 24 hours: the call happens now, not on the deliveries' fixed date.
    now = datetime.now(UTC)
    steps: list[dict[str, Any]] = [started(), ivr(), routed()]
    for offset, step in enumerate(steps):
        at = (now - timedelta(minutes=5 - offset)).isoformat()
        assert pbx.send(step | {"occurred_at": at}).status_code == 201
    html = desk.get(f"/desk/customers/{customer['id']}/").content.decode()
    start = html.index('class="card told-us')
    told_us = html[start : html.index("</section>", start)]
    assert "AC100200" in told_us
    assert "yes" in told_us  # verified by the IVR
