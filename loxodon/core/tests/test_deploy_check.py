"""Production settings pass Django's deployment checks (docs/deploy.md)."""

from __future__ import annotations

import json
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


def _database_settings(tmp_path: Path, **extra: str) -> dict[str, object]:
    script = (
        "import json; from django.conf import settings; d = settings.DATABASES['default']; "
        "pool = d.get('OPTIONS', {}).get('pool'); "
        "print(json.dumps({'age': d['CONN_MAX_AGE'], "
        "'pool': pool and {k: pool[k] for k in ('min_size', 'max_size', 'timeout')}, "
        "'checked': d['CONN_HEALTH_CHECKS']}))"
    )
    env = _production_env(tmp_path, DATABASE_URL="postgres://loxodon@127.0.0.1:1/loxodon", **extra)
    done = subprocess.run(
        [LOXODON, "shell", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_database_connections_suit_asgi(tmp_path: Path) -> None:
    """No persistent connections by default (under ASGI they pile up, one per request thread);
    LOXODON_DB_POOL_MAX turns on psycopg's pool, bounded and checked before each use."""
    assert _database_settings(tmp_path) == {"age": 0, "pool": None, "checked": True}
    assert _database_settings(tmp_path, LOXODON_DB_POOL_MAX="12") == {
        "age": 0,
        "pool": {"min_size": 1, "max_size": 12, "timeout": 10},
        "checked": True,
    }
    # The pool replaces persistent connections: an old CONN_MAX_AGE setting cannot clash with it.
    pooled = _database_settings(tmp_path, LOXODON_DB_POOL_MAX="4", LOXODON_CONN_MAX_AGE="60")
    assert pooled["age"] == 0 and pooled["checked"]
