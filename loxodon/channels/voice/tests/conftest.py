"""Fixtures for the voice channel: an integration, a signing client, a desk session."""

from __future__ import annotations

import pytest

from loxodon.channels.voice.models import VoiceIntegration
from loxodon.channels.voice.services import create_voice_integration
from loxodon.channels.voice.tests.deliveries import Pbx
from loxodon.org.models import Site


@pytest.fixture
def integration(site: Site) -> VoiceIntegration:
    return create_voice_integration(name="London PBX", site=site)


@pytest.fixture
def pbx(integration: VoiceIntegration) -> Pbx:
    return Pbx(integration)
