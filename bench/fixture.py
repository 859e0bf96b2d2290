"""Read-only look-ups in a loaded fixture, the same for SQLite and PostgreSQL.

Customers are addressed by "rowid": n is the n-th customer the loader wrote (1-based), as in
datagen.Scale.heavy_rowids. On SQLite that is the table's rowid; on PostgreSQL (no rowid) the
loader gives every customer a distinct created_at in load order, so the n-th by
(created_at, id) is the same customer.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from bench.config import BenchConfig

CaseRow = tuple[str, int, str]  # (case id hex, customer rowid, customer id hex)


class Fixture(Protocol):
    def customers(self) -> list[tuple[int, str]]:
        """(rowid, customer id hex) of every loaded customer, by rowid."""
        ...

    def cases(self) -> list[CaseRow]:
        """Every case with its customer's rowid and id, by case id."""
        ...

    def event_counts(self, rowids: Sequence[int]) -> list[int]:
        """Events on the timeline of each customer (by rowid)."""
        ...

    def total_events(self) -> int: ...

    def size_mb(self) -> float: ...

    def location(self) -> str: ...


def _hex(value: Any) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


class SqliteFixture:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def _ro(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)

    def customers(self) -> list[tuple[int, str]]:
        conn = self._ro()
        try:
            rows = conn.execute("SELECT rowid, id FROM customers_customer ORDER BY rowid")
            return [(int(r), str(c)) for r, c in rows]
        finally:
            conn.close()

    def cases(self) -> list[CaseRow]:
        conn = self._ro()
        try:
            rows = conn.execute(
                "SELECT c.id, cu.rowid, cu.id FROM cases_case c "
                "JOIN customers_customer cu ON cu.id = c.customer_id ORDER BY c.id"
            )
            return [(str(c), int(r), str(cu)) for c, r, cu in rows]
        finally:
            conn.close()

    def event_counts(self, rowids: Sequence[int]) -> list[int]:
        conn = self._ro()
        try:
            return [
                conn.execute(
                    "SELECT count(*) FROM timeline_event WHERE customer_id = "
                    "(SELECT id FROM customers_customer WHERE rowid = ?)",
                    (r,),
                ).fetchone()[0]
                for r in rowids
            ]
        finally:
            conn.close()

    def total_events(self) -> int:
        conn = self._ro()
        try:
            return int(conn.execute("SELECT count(*) FROM timeline_event").fetchone()[0])
        finally:
            conn.close()

    def size_mb(self) -> float:
        return round(self.db_path.stat().st_size / 1e6, 1)

    def location(self) -> str:
        return str(self.db_path)


class PostgresFixture:
    def __init__(self, url: str) -> None:
        self.url = url
        self._customers: list[tuple[int, str]] | None = None

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, connect_timeout=10)

    def customers(self) -> list[tuple[int, str]]:
        if self._customers is None:
            with self._connect() as conn:
                rows = conn.execute(
                    "SELECT id FROM customers_customer ORDER BY created_at, id"
                ).fetchall()
            self._customers = [(n, _hex(r[0])) for n, r in enumerate(rows, start=1)]
        return self._customers

    def cases(self) -> list[CaseRow]:
        rowid_of = {cid: n for n, cid in self.customers()}
        with self._connect() as conn:
            rows = conn.execute("SELECT id, customer_id FROM cases_case ORDER BY id").fetchall()
        out: list[CaseRow] = []
        for case_id, customer_id in rows:
            customer = _hex(customer_id)
            out.append((_hex(case_id), rowid_of[customer], customer))
        out.sort(key=lambda row: row[0])  # the SQLite order (hex text), not uuid order
        return out

    def event_counts(self, rowids: Sequence[int]) -> list[int]:
        ids = dict(self.customers())
        with self._connect() as conn:
            return [
                int(
                    conn.execute(
                        "SELECT count(*) FROM timeline_event WHERE customer_id = %s",
                        (uuid.UUID(ids[r]),),
                    ).fetchone()[0]
                )
                for r in rowids
            ]

    def total_events(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM timeline_event").fetchone()[0])

    def size_mb(self) -> float:
        from bench.pgloader import database_size_mb

        return database_size_mb(self.url)

    def location(self) -> str:
        from bench.pgloader import redact

        return redact(self.url)


def open_fixture(config: BenchConfig) -> Fixture:
    if config.backend == "postgresql":
        return PostgresFixture(config.database_url)
    return SqliteFixture(config.db_path)


def customer_ids(fixture: Fixture, rowids: Sequence[int]) -> list[str]:
    """API ids (dashed UUIDs) of customers by rowid, in the order given."""
    by_rowid = dict(fixture.customers())
    return [str(uuid.UUID(by_rowid[r])) for r in rowids]
