"""Production settings pass Django's deployment checks (docs/deploy.md)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

LOXODON = str(Path(sys.executable).parent / "loxodon")


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOXODON_")}
    return env | {
        "LOXODON_DEBUG": "0",
        "LOXODON_SECRET_KEY": secrets.token_urlsafe(50),
        "LOXODON_ALLOWED_HOSTS": "support.example.com",
        "LOXODON_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
        **extra,
    }


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    done = subprocess.run(
        [LOXODON, "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["LOXODON_SECRET_KEY"]
    done = subprocess.run([LOXODON, "check"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "LOXODON_SECRET_KEY must be set" in done.stderr
