"""The voice webhook accepts only fresh requests signed by an active integration."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from loxodon.channels.voice.models import Call, CallStep, VoiceIntegration
from loxodon.channels.voice.signing import SignatureRejected, sign, verify_request
from loxodon.channels.voice.tests.deliveries import URL, Pbx, routed, started
from loxodon.timeline.models import Event


def nothing_written() -> bool:
    return (
        not Call.objects.exists() and not CallStep.objects.exists() and not Event.objects.exists()
    )


def test_a_signed_delivery_is_accepted(pbx: Pbx) -> None:
    response = pbx.send(started())
    assert response.status_code == 201, response.content
    assert response.json()["call"]["caller"] == "+441632960001"


# Half a minute past the edge either way: the server reads its clock after the test does, so an
# offset of +301 s could land back inside the window (the exact edge is tested below with a
# fixed "now").
@pytest.mark.parametrize(
    "offset", [-330, -3600, +330, +3600], ids=["old", "ancient", "future", "far-future"]
)
def test_a_request_signed_outside_the_5_minute_window_is_refused(pbx: Pbx, offset: int) -> None:
    response = pbx.send(started(), timestamp=int(time.time()) + offset)
    assert response.status_code == 401
    assert response.json()["detail"] == "timestamp outside the 5-minute window (replay?)"
    assert nothing_written()


def test_the_window_is_300_seconds_either_way(integration: VoiceIntegration) -> None:
    body = b'{"x": 1}'
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    ts = int(now.timestamp())

    def headers(timestamp: int) -> dict[str, str]:
        return {
            "X-Loxodon-Integration": integration.key_id,
            "X-Loxodon-Timestamp": str(timestamp),
            "X-Loxodon-Signature": "v1=" + sign(integration.secret, timestamp, body),
        }

    for fresh in (ts - 300, ts + 300, ts):
        assert verify_request(headers(fresh), body, now=now) == integration
    for stale in (ts - 301, ts + 301):
        with pytest.raises(SignatureRejected, match="5-minute window"):
            verify_request(headers(stale), body, now=now)


@pytest.mark.parametrize(
    "signature",
    ["v1=" + "0" * 64, "v1=not-hex", "v0=abc", "sha256=abc", "garbage", "v1="],
)
def test_a_bad_signature_is_refused(pbx: Pbx, signature: str) -> None:
    response = pbx.send(started(), headers={"X-Loxodon-Signature": signature})
    assert response.status_code == 401
    assert "signature" in response.json()["detail"].lower()
    assert nothing_written()


def test_a_signature_made_with_another_secret_is_refused(
    pbx: Pbx, integration: VoiceIntegration
) -> None:
    raw = json.dumps(started()).encode()
    ts = int(time.time())
    forged = "v1=" + sign("vs_someone-elses-secret", ts, raw)
    response = pbx.send(raw, timestamp=ts, headers={"X-Loxodon-Signature": forged})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("bad signature")
    assert nothing_written()


def test_a_tampered_body_is_refused(pbx: Pbx) -> None:
    signed_body = json.dumps(started(caller="+44 20 7946 0000")).encode()
    tampered = json.dumps(started(caller="+44 20 7946 9999")).encode()
    response = pbx.send(tampered, sign_body=signed_body)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("bad signature")
    assert nothing_written()


def test_a_tampered_timestamp_is_refused(pbx: Pbx) -> None:
    raw = json.dumps(started()).encode()
    ts = int(time.time())
    good = "v1=" + sign(pbx.integration.secret, ts - 10, raw)
    response = pbx.send(raw, timestamp=ts, headers={"X-Loxodon-Signature": good})
    assert response.status_code == 401
    assert nothing_written()


def test_during_secret_rotation_any_offered_signature_may_match(pbx: Pbx) -> None:
    raw = json.dumps(started()).encode()
    ts = int(time.time())
    both = f"v1={'0' * 64}, v1={sign(pbx.integration.secret, ts, raw)}"
    assert pbx.send(raw, timestamp=ts, headers={"X-Loxodon-Signature": both}).status_code == 201


def test_an_unknown_integration_is_refused(pbx: Pbx) -> None:
    response = pbx.send(started(), headers={"X-Loxodon-Integration": "vk_nobody"})
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown integration 'vk_nobody'"
    assert nothing_written()


def test_an_inactive_integration_is_refused(pbx: Pbx, integration: VoiceIntegration) -> None:
    integration.active = False
    integration.save(update_fields=["active"])
    response = pbx.send(started())
    assert response.status_code == 401
    assert "disabled" in response.json()["detail"]
    assert nothing_written()


@pytest.mark.parametrize(
    "header", ["X-Loxodon-Integration", "X-Loxodon-Timestamp", "X-Loxodon-Signature"]
)
def test_a_missing_header_is_refused_by_name(pbx: Pbx, header: str) -> None:
    response = pbx.send(started(), headers={header: None})
    assert response.status_code == 401
    assert header in response.json()["detail"]
    assert nothing_written()


def test_no_headers_at_all_is_refused(pbx: Pbx) -> None:
    response = pbx.client.post(URL, started(), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("missing header(s)")


def test_a_non_numeric_timestamp_is_refused(pbx: Pbx) -> None:
    response = pbx.send(started(), headers={"X-Loxodon-Timestamp": "2026-11-24T09:00:00Z"})
    assert response.status_code == 401
    assert "unix seconds" in response.json()["detail"]


def test_bearer_tokens_do_not_replace_the_signature(api: Any) -> None:
    response = api.post("/channels/voice/events", started())
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "request body"),
        ({"id": "x", "call_id": "c1", "occurred_at": "2026-11-24T09:00:00Z"}, "request body"),
        ({**started(), "type": "call.exploded"}, "request body"),
        ({**started(), "occurred_at": "2026-11-24T09:00:00"}, "occurred_at"),
        ({**started(), "customer_id": "smuggled"}, "customer_id"),
        ({k: v for k, v in started().items() if k != "id"}, "id"),
        (routed(agent="ann", department="finance"), "exactly one of to_agent"),
        (routed(agent=None), "exactly one of to_agent"),
        ({**routed(), "type": "call.ended", "duration_seconds": -1}, "duration_seconds"),
        (
            {
                **routed(),
                "type": "call.ended",
                "duration_seconds": 5,
                "recording_url": "javascript:alert(1)",
            },
            "recording_url",
        ),
    ],
    ids=[
        "not-json",
        "no-type",
        "unknown-type",
        "naive-time",
        "unknown-field",
        "no-id",
        "two-targets",
        "no-target",
        "negative-duration",
        "non-http-recording",
    ],
)
def test_a_malformed_body_is_422_and_writes_nothing(pbx: Pbx, body: Any, field: str) -> None:
    response = pbx.send(body)
    assert response.status_code == 422, response.content
    assert field in response.json()["detail"]
    assert nothing_written()
