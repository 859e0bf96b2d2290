"""The worked example in docs/integrations/voice.md works as written: bash + openssl + curl
against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loxodon.channels.voice.models import VoiceIntegration
from loxodon.core.testing import Api
from loxodon.timeline.models import Event

DOC = Path(__file__).resolve().parents[4] / "docs" / "integrations" / "voice.md"


def documented_example() -> str:
    text = DOC.read_text()
    match = re.search(r"<!-- voice-example:[^>]*-->\s*```bash\n(.*?)```", text, re.DOTALL)
    assert match, "the runnable example block is missing from docs/integrations/voice.md"
    return match.group(1)


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "openssl", "curl")),
    reason="needs bash, openssl and curl",
)
@pytest.mark.django_db(transaction=True)
def test_the_documented_curl_example_reports_a_whole_call(
    live_server: Any, integration: VoiceIntegration, customer: dict[str, Any], api: Api
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LOXODON_URL": live_server.url,
        "LOXODON_VOICE_KEY_ID": integration.key_id,
        "LOXODON_VOICE_SECRET": integration.secret,
    }
    script = "set -euo pipefail\n" + documented_example()
    bash = shutil.which("bash") or "bash"
    for _ in range(2):  # the second run replays every delivery: nothing changes
        run = subprocess.run(
            [bash, "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count('"replayed": true') == 4, run.stdout
    (event,) = Event.objects.filter(kind="call")
    assert str(event.customer_id) == customer["id"]
    timeline = api.get(f"/customers/{customer['id']}/timeline", kind="call").json()["items"]
    assert [e["summary"] for e in timeline] == [
        "Call from +44 1632 960001 · IVR verified AC100200 · routed to Ann Agent · 4 min 12 s"
    ]
