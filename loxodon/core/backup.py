"""Backups you can trust: `loxodon backup FILE` and `loxodon restore FILE` (docs/operations.md).

A backup is one tar file:

- `database.sqlite3` (SQLite, copied with the online backup API, so it is consistent while the
  server keeps writing) or `database.pgdump` (PostgreSQL, `pg_dump --format=custom`, taken from
  an exported snapshot);
- `media/...` (attachments, data exports) and `mail/...` (the raw inbound mail spool);
- `erasures.jsonl`, the erasure ledger as it was;
- `manifest.json`: per table its row count and a SHA-256 over its rows, computed from the same
  snapshot as the copy, and a SHA-256 per file.

`restore` loads the copy into a fresh, empty database (and empty media and spool folders),
recomputes every table's count and checksum and every file's checksum, and fails naming the
table or file that differs. Then it brings the schema up to date (`migrate`) and re-applies
every erasure in the ledger, so a backup taken before a customer was erased does not bring
them back.

A table's checksum: each row's cells are written out as text (NULL, bytes and JSON in a fixed
form) and hashed; the row hashes are sorted and hashed together, so it is independent of the
order rows come back in (equivalent to hashing rows ordered by primary key).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = 1
SQLITE_NAME = "database.sqlite3"
PGDUMP_NAME = "database.pgdump"
MANIFEST_NAME = "manifest.json"
LEDGER_NAME = "erasures.jsonl"
#: Folders copied with the database: name in the backup -> setting giving the folder.
FOLDERS = ("media", "mail")

Progress = Callable[[str, int], None]  # (what, how many more done)


class BackupError(Exception):
    """The backup or restore could not be done, or what was restored does not match."""


def _no_progress(what: str, advance: int) -> None:
    return None


# --- checksums -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, dict | list):
        return "j:" + json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def table_digest(cursor: Any, quoted_table: str) -> dict[str, Any]:
    """{"rows": n, "sha256": hex} for one table, read through a DB-API cursor."""
    cursor.execute(f"SELECT * FROM {quoted_table}")  # noqa: S608 (a table name we listed)
    row_digests = []
    while True:
        batch = cursor.fetchmany(2000)
        if not batch:
            break
        for row in batch:
            text = "\x1f".join(_cell(v) for v in row)
            row_digests.append(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    row_digests.sort()
    total = hashlib.sha256()
    for d in row_digests:
        total.update(d)
    return {"rows": len(row_digests), "sha256": total.hexdigest()}


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    """Every real table (FTS shadow tables included; virtual tables are read through them)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def sqlite_digests(path: Path, progress: Progress = _no_progress) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        cursor = conn.cursor()
        digests = {}
        for table in sqlite_tables(conn):
            digests[table] = table_digest(cursor, '"' + table.replace('"', '""') + '"')
            progress("tables", 1)
        return digests
    finally:
        conn.close()


def pg_tables(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [r[0] for r in cursor.fetchall()]


def pg_digests(cursor: Any, progress: Progress = _no_progress) -> dict[str, dict[str, Any]]:
    digests = {}
    for table in pg_tables(cursor):
        digests[table] = table_digest(cursor, '"' + table.replace('"', '""') + '"')
        progress("tables", 1)
    return digests


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def compare(expected: dict[str, Any], actual: dict[str, Any], what: str) -> list[str]:
    """Human-readable differences between two {name: digest} maps, one line each."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            problems.append(f"{what} {name}: not in the backup")
        elif got is None:
            problems.append(f"{what} {name}: missing after restore")
        elif isinstance(want, dict) and want.get("rows") != got.get("rows"):
            problems.append(f"{what} {name}: {got['rows']} rows, the backup has {want['rows']}")
        elif want != got:
            problems.append(f"{what} {name}: checksum differs from the backup")
    return problems


# --- where things are --------------------------------------------------------------------------


@dataclass
class Place:
    """What to back up or restore into: the database settings and the folders."""

    database: dict[str, Any]
    folders: dict[str, Path]
    ledger: Path

    @classmethod
    def from_settings(cls, ledger: Path | None = None) -> Place:
        from django.conf import settings
        from django.db import connections

        from loxodon.customers.erasure import ledger_path

        return cls(
            database=dict(connections["default"].settings_dict),
            folders={
                "media": Path(settings.MEDIA_ROOT),
                "mail": Path(settings.LOXODON_MAIL_SPOOL),
            },
            ledger=ledger or ledger_path(),
        )

    @property
    def engine(self) -> str:
        return "sqlite" if "sqlite" in str(self.database["ENGINE"]) else "postgresql"


def _files(folders: dict[str, Path]) -> Iterator[tuple[str, Path]]:
    for name, root in folders.items():
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield f"{name}/{path.relative_to(root).as_posix()}", path


# --- PostgreSQL tools --------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: $LOXODON_PG_BIN, then PATH, then the newest Debian cluster's."""
    configured = os.environ.get("LOXODON_PG_BIN")
    if configured and (Path(configured) / name).exists():
        return str(Path(configured) / name)
    found = shutil.which(name)
    if found:
        return found
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if debian:
        return str(debian[-1])
    raise BackupError(
        f"{name} was not found: install the PostgreSQL client tools (postgresql-client) "
        "or set LOXODON_PG_BIN to their folder"
    )


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    env["PGDATABASE"] = str(db["NAME"])
    return env


def _pg_connect(db: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )


# --- backup ------------------------------------------------------------------------------------


@dataclass
class Report:
    """What a backup or restore did, for the command to print."""

    path: Path
    engine: str
    tables: int = 0
    rows: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    reapplied: list[str] = field(default_factory=list)


def _snapshot_sqlite(db: dict[str, Any], target: Path, progress: Progress) -> dict[str, Any]:
    """Copy the live database with SQLite's online backup API, then checksum the copy."""
    source = sqlite3.connect(str(db["NAME"]), timeout=30)
    try:
        dest = sqlite3.connect(str(target))
        try:
            # One step (pages=-1): a single read transaction, so the copy is one consistent
            # moment even while the server writes (WAL readers do not block writers).
            source.backup(dest, pages=-1)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    finally:
        source.close()
    return sqlite_digests(target, progress)


def _snapshot_pg(db: dict[str, Any], target: Path, progress: Progress) -> dict[str, Any]:
    """pg_dump from an exported snapshot; the checksums are read in that same snapshot."""
    pg_dump = pg_tool("pg_dump")
    conn = _pg_connect(db)
    try:
        with conn.transaction():
            cursor = conn.cursor()
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            done = subprocess.run(  # noqa: S603 (our own arguments)
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--file", str(target)],
                env=_pg_env(db),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
            return pg_digests(cursor, progress)
    finally:
        conn.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def backup(path: Path, place: Place, progress: Progress = _no_progress) -> Report:
    """Write a backup of the database, the folders and the ledger to `path` (one tar file)."""
    started = time.monotonic()
    report = Report(path=path, engine=place.engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        db_name = SQLITE_NAME if place.engine == "sqlite" else PGDUMP_NAME
        copy = Path(work) / db_name
        if place.engine == "sqlite":
            tables = _snapshot_sqlite(place.database, copy, progress)
        else:
            tables = _snapshot_pg(place.database, copy, progress)
        files: dict[str, str] = {}
        with tarfile.open(part, "w") as tar:
            tar.add(copy, arcname=db_name)
            for name, file in _files(place.folders):
                data = file.read_bytes()  # read once: what is hashed is what is stored
                files[name] = hashlib.sha256(data).hexdigest()
                _add_bytes(tar, name, data)
                progress("files", 1)
            if place.ledger.exists():
                _add_bytes(tar, LEDGER_NAME, place.ledger.read_bytes())
            manifest = {
                "format": FORMAT,
                "engine": place.engine,
                "created_at": datetime.now(UTC).isoformat(),
                "database": db_name,
                "database_sha256": file_sha256(copy),
                "tables": tables,
                "files": files,
            }
            _add_bytes(tar, MANIFEST_NAME, json.dumps(manifest, indent=1).encode())
        with open(part, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(part, path)
    report.tables = len(tables)
    report.rows = sum(t["rows"] for t in tables.values())
    report.files = len(files)
    report.bytes = path.stat().st_size
    report.seconds = time.monotonic() - started
    return report


# --- restore -----------------------------------------------------------------------------------


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST_NAME)
    except KeyError:
        raise BackupError(f"not a Loxodon backup: no {MANIFEST_NAME} inside") from None
    if member is None:
        raise BackupError(f"not a Loxodon backup: {MANIFEST_NAME} is not a file")
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not supported")
    return manifest


def _require_empty_sqlite(db: dict[str, Any]) -> Path:
    target = Path(str(db["NAME"]))
    if target.exists() and target.stat().st_size > 0:
        conn = sqlite3.connect(str(target))
        try:
            tables = sqlite_tables(conn)
        finally:
            conn.close()
        if tables:
            raise BackupError(
                f"the database {target} is not empty ({len(tables)} tables): restore into a "
                "fresh database (a new file name in DATABASE_URL)"
            )
    return target


def _restore_sqlite(tar: tarfile.TarFile, manifest: dict[str, Any], db: dict[str, Any]) -> None:
    target = _require_empty_sqlite(db)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        tar.extract(SQLITE_NAME, path=work, filter="data")
        extracted = Path(work) / SQLITE_NAME
        if file_sha256(extracted) != manifest.get("database_sha256"):
            raise BackupError(f"{SQLITE_NAME}: checksum differs from the manifest (damaged?)")
        source = sqlite3.connect(str(extracted))
        dest = sqlite3.connect(str(target))
        try:
            source.backup(dest, pages=-1)
        finally:
            dest.close()
            source.close()


def _restore_pg(tar: tarfile.TarFile, db: dict[str, Any]) -> None:
    pg_restore = pg_tool("pg_restore")
    conn = _pg_connect(db)
    try:
        existing = pg_tables(conn.cursor())
    finally:
        conn.close()
    if existing:
        raise BackupError(
            f"the database {db['NAME']} is not empty ({len(existing)} tables): restore into a "
            "fresh database (createdb, then point DATABASE_URL at it)"
        )
    with tempfile.TemporaryDirectory() as work:
        tar.extract(PGDUMP_NAME, path=work, filter="data")
        done = subprocess.run(  # noqa: S603 (our own arguments)
            [
                pg_restore,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
                str(db["NAME"]),
                str(Path(work) / PGDUMP_NAME),
            ],
            env=_pg_env(db),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def _restore_files(
    tar: tarfile.TarFile, manifest: dict[str, Any], place: Place, progress: Progress
) -> list[str]:
    problems = []
    for name, digest in manifest["files"].items():
        folder, _, relative = name.partition("/")
        root = place.folders.get(folder)
        if root is None or not relative or ".." in Path(relative).parts:
            problems.append(f"file {name}: not a media or mail file")
            continue
        target = root / relative
        member = tar.extractfile(name)
        if member is None:
            problems.append(f"file {name}: missing from the backup")
            continue
        data = member.read()
        if target.exists() and file_sha256(target) != hashlib.sha256(data).hexdigest():
            problems.append(f"file {target}: exists with other content; not overwritten")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if file_sha256(target) != digest:
            problems.append(f"file {name}: checksum differs from the backup")
        progress("files", 1)
    return problems


def restore_data(path: Path, place: Place, progress: Progress = _no_progress) -> Report:
    """Load a backup into the (empty) database and folders of `place` and verify it.

    Raises BackupError when the database is not empty or anything differs from the manifest
    (the message names every table and file that differs). Does not touch the ledger or run
    migrations: `restore` (the command) does that next, through Django.
    """
    started = time.monotonic()
    report = Report(path=path, engine=place.engine)
    with tarfile.open(path, "r") as tar:
        manifest = read_manifest(tar)
        if manifest["engine"] != place.engine:
            raise BackupError(
                f"this is a {manifest['engine']} backup; the target database is {place.engine}"
            )
        if place.engine == "sqlite":
            _restore_sqlite(tar, manifest, place.database)
            actual = sqlite_digests(Path(str(place.database["NAME"])), progress)
        else:
            _restore_pg(tar, place.database)
            conn = _pg_connect(place.database)
            try:
                actual = pg_digests(conn.cursor(), progress)
            finally:
                conn.close()
        problems = compare(manifest["tables"], actual, "table")
        problems += _restore_files(tar, manifest, place, progress)
        try:
            member = tar.extractfile(LEDGER_NAME)
        except KeyError:
            member = None
        if member is not None:
            _merge_ledger(place.ledger, member.read())
    report.tables = len(actual)
    report.rows = sum(t["rows"] for t in actual.values())
    report.files = len(manifest["files"])
    report.bytes = path.stat().st_size
    report.seconds = time.monotonic() - started
    report.problems = problems
    if problems:
        raise BackupError(
            "the restored data does not match the backup; do not use it:\n  "
            + "\n  ".join(problems)
        )
    return report


def _merge_ledger(ledger: Path, older: bytes) -> None:
    """Add the backup's ledger lines that the current ledger lacks (never removes any)."""
    have = set(ledger.read_text(encoding="utf-8").splitlines()) if ledger.exists() else set()
    missing = [
        line for line in older.decode("utf-8").splitlines() if line.strip() and line not in have
    ]
    if missing:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(ledger, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in missing))
            fh.flush()
            os.fsync(fh.fileno())


# --- command-line progress ---------------------------------------------------------------------


class RichProgress:
    """Counts of tables checksummed and files copied, as rich bars on stderr."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import Progress as Bar
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Bar(
            SpinnerColumn(),
            TextColumn("{task.description:<8} {task.completed:>8,}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, what: str, advance: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.bar.add_task(what, total=None)
        self.bar.advance(self.tasks[what], advance)


def describe(report: Report, verb: str, outcome: str) -> str:
    size = f"{report.bytes / 1e6:,.1f} MB" if report.bytes >= 1e5 else f"{report.bytes:,} bytes"
    return (
        f"{verb} {report.path} ({report.engine}, {size}): {report.tables} tables, "
        f"{report.rows:,} rows, {report.files:,} files, {outcome}; {report.seconds:.1f} s"
    )
