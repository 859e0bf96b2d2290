from __future__ import annotations

import os
import subprocess
import sys


def _settings(env: dict[str, str], expr: str) -> str:
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE']='loxodon.settings'; "
        f"import django; django.setup(); from django.conf import settings; print({expr})"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LOXODON_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True
    )
    return (result.stdout + result.stderr).strip()


def test_database_url_selects_postgresql() -> None:
    out = _settings(
        {"DATABASE_URL": "postgres://u:p@db.example:5433/lox"},
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['PORT']",
    )
    assert out == "django.db.backends.postgresql 5433"


def test_default_database_is_sqlite_in_wal_mode() -> None:
    out = _settings({}, "settings.DATABASES['default']['OPTIONS']['init_command']")
    assert "journal_mode=WAL" in out


def test_production_refuses_to_start_without_a_secret_key() -> None:
    out = _settings({"LOXODON_DEBUG": "0"}, "settings.DEBUG")
    assert "LOXODON_SECRET_KEY must be set" in out


def test_production_settings_are_secure() -> None:
    out = _settings(
        {"LOXODON_DEBUG": "0", "LOXODON_SECRET_KEY": "x" * 50},
        "settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE",
    )
    assert out == "False True True"
