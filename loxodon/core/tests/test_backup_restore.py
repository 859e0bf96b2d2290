"""Issue 10, item 19: `loxodon backup FILE` and `loxodon restore FILE` (docs/operations.md).

Given a database with a customer's data in every place (customers/tests/erasure_fixtures) and
files in the media and mail folders, the real commands back up and restore into a fresh
database: every table's row count and checksum and every file match the source. A changed
table or file makes the restore fail naming it. A customer erased after the backup was taken
is erased again by the restore (the ledger), so restoring does not bring them back.

SQLite always; PostgreSQL when the suite runs on it (a fresh database is created on the same
server for the restore and dropped afterwards).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest
from django.db import connection

from loxodon.core import backup
from loxodon.core.testing import database_url
from loxodon.customers.erasure import erase_customer
from loxodon.customers.tests.erasure_fixtures import PERSONAL_VALUES, Subject, build_subject
from loxodon.knowledge.models import Article
from loxodon.knowledge.tests.exceptions_fixtures import admin_user, returns_policy
from loxodon.org.models import Department, Site, User
from loxodon.timeline.services import record_event

__all__ = ["admin_user", "returns_policy"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def var(settings: Any, tmp_path: Path) -> Path:
    """The source installation's var folder (media, mail spool, ledger), as the commands see it."""
    src = tmp_path / "src"
    settings.MEDIA_ROOT = str(src / "media")
    settings.LOXODON_MAIL_SPOOL = str(src / "mail")
    settings.LOXODON_ERASURE_LEDGER = str(src / "erasures.jsonl")
    settings.LOXODON_SUPPORT_EMAIL = "support@loxodon.test"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOXODON_PORTAL_MAIL_IN_BACKGROUND = False
    return src


@pytest.fixture
def subject(
    var: Path,
    agent: User,
    supervisor: User,
    departments: dict[str, Department],
    site: Site,
    returns_policy: Article,
) -> Subject:
    return build_subject(
        agent=agent,
        supervisor=supervisor,
        department=departments["parts"],
        site=site,
        policy=returns_policy,
    )


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the engine under test (dropped afterwards)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'loxodon.sqlite3'}"
        return
    name = f"loxodon_restore_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(database_url())
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def loxodon(*args: object, url: str, var: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("loxodon") or str(Path(sys.executable).parent / "loxodon")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOXODON_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "loxodon.settings",
    }
    return subprocess.run(
        [script, *[str(a) for a in args]],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def digests_of(url: str) -> dict[str, dict[str, Any]]:
    """Per-table row counts and checksums, read straight from the database (not via Django)."""
    if url.startswith("sqlite:"):
        return backup.sqlite_digests(Path(dj_database_url.parse(url)["NAME"]))
    import psycopg

    with psycopg.connect(url) as conn:
        return backup.pg_digests(conn.cursor())


def rows_of(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite:"):
        lite = sqlite3.connect(dj_database_url.parse(url)["NAME"])
        try:
            return lite.execute(sql).fetchall()
        finally:
            lite.close()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def personal_values_in(url: str, var: Path) -> list[str]:
    hits = []
    wanted = [v.lower() for v in PERSONAL_VALUES]
    quote = '"{}"'.format
    tables = list(digests_of(url))
    for table in tables:
        for row in rows_of(url, f"SELECT * FROM {quote(table)}"):  # noqa: S608
            low = " ".join(str(bytes(c) if isinstance(c, memoryview) else c) for c in row).lower()
            hits += [f"{table}: {v}" for v in wanted if v in low]
    for path in var.rglob("*"):
        if path.is_file() and path.suffix != ".sqlite3":
            low_bytes = path.read_bytes().lower()
            hits += [f"{path}: {v}" for v in wanted if v.encode() in low_bytes]
    return hits


# --- the item -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_backup_restores_into_a_fresh_database_with_equal_counts_checksums_and_files(
    subject: Subject, var: Path, tmp_path: Path, fresh_database: str
) -> None:
    source = database_url()
    target_var = tmp_path / "restored"
    made = loxodon("backup", tmp_path / "backup.tar", url=source, var=var)
    assert made.returncode == 0, made.stderr
    assert "Backed up to" in made.stdout and "files" in made.stdout

    restored = loxodon("restore", tmp_path / "backup.tar", url=fresh_database, var=target_var)
    assert restored.returncode == 0, restored.stderr
    assert "counts and checksums match" in restored.stdout

    # Checked here again, independently of the command: every table, every file.
    before, after = digests_of(source), digests_of(fresh_database)
    assert len(before) >= 40
    assert sum(t["rows"] for t in before.values()) >= 150
    assert before == after
    for folder in ("media", "mail"):
        original = files_under(var / folder)
        assert original, folder
        assert files_under(target_var / folder) == original
    names = rows_of(fresh_database, "SELECT name FROM customers_customer")
    assert (subject.customer.name,) in names and (subject.bystander.name,) in names

    # Restoring again into the now non-empty database is refused.
    again = loxodon("restore", tmp_path / "backup.tar", url=fresh_database, var=target_var)
    assert again.returncode != 0 and "not empty" in again.stderr


def _rewrite(path: Path, change: dict[str, bytes]) -> None:
    """Replace some members of a backup tar (a damaged or tampered copy)."""
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar]  # type: ignore[union-attr]
    with tarfile.open(path, "w") as tar:
        for member, data in members:
            data = change.get(member.name, data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


@pytest.mark.slow
def test_restore_fails_loudly_naming_the_table_or_file_that_differs(
    subject: Subject, var: Path, tmp_path: Path, fresh_database: str
) -> None:
    made = loxodon("backup", tmp_path / "backup.tar", url=database_url(), var=var)
    assert made.returncode == 0, made.stderr
    with tarfile.open(tmp_path / "backup.tar") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        attachment = next(n for n in manifest["files"] if n.startswith("media/"))
    manifest["tables"]["cases_case"]["rows"] += 1
    manifest["tables"]["timeline_event"]["sha256"] = "0" * 64
    _rewrite(
        tmp_path / "backup.tar",
        {"manifest.json": json.dumps(manifest).encode(), attachment: b"not the same bytes"},
    )
    restored = loxodon(
        "restore", tmp_path / "backup.tar", url=fresh_database, var=tmp_path / "restored"
    )
    assert restored.returncode != 0
    assert "table cases_case:" in restored.stderr and "rows" in restored.stderr
    assert "table timeline_event: checksum differs" in restored.stderr
    assert f"file {attachment}: checksum differs" in restored.stderr
    assert "do not use it" in restored.stderr


@pytest.mark.slow
def test_a_customer_erased_after_the_backup_stays_erased_after_restore(
    subject: Subject, admin_user: User, var: Path, tmp_path: Path, fresh_database: str
) -> None:
    made = loxodon("backup", tmp_path / "before-erasure.tar", url=database_url(), var=var)
    assert made.returncode == 0, made.stderr
    erase_customer(customer_id=subject.customer.pk, by=admin_user, reason="REQ-2026-115")
    assert (var / "erasures.jsonl").exists()

    restored = loxodon(
        "restore",
        tmp_path / "before-erasure.tar",
        "--ledger",
        var / "erasures.jsonl",
        url=fresh_database,
        var=tmp_path / "restored",
    )
    assert restored.returncode == 0, restored.stderr
    assert "1 erasures, 1 re-applied" in restored.stdout
    assert personal_values_in(fresh_database, tmp_path / "restored") == []
    assert rows_of(fresh_database, "SELECT reapplied FROM customers_erasure") in (
        [(1,)],
        [(True,)],
    )


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite online backup API")
def test_sqlite_backup_is_consistent_while_the_server_keeps_writing(
    var: Path, tmp_path: Path, fresh_database: str
) -> None:
    """A writer adds timeline events the whole time the backup runs; the copy is one moment."""
    from loxodon.customers.services import create_customer
    from loxodon.timeline.models import Event

    busy = create_customer(name="Busy Bee", email="busy@example.com")
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        from django.db import connections

        try:
            while not stop.is_set():
                record_event(customer_id=busy.pk, kind="note", channel="system", summary="tick")
                written[0] += 1
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        made = loxodon("backup", tmp_path / "busy.tar", url=database_url(), var=var)
    finally:
        stop.set()
        thread.join()
    assert made.returncode == 0, made.stderr
    assert written[0] > 10
    restored = loxodon("restore", tmp_path / "busy.tar", url=fresh_database, var=tmp_path / "r")
    assert restored.returncode == 0, restored.stderr
    [(copied,)] = rows_of(fresh_database, "SELECT COUNT(*) FROM timeline_event")
    assert 0 < copied <= Event.objects.count()
