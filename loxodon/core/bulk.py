"""Many rows written with one prepared statement (executemany), for bulk services.

`QuerySet.bulk_create` and `bulk_update` build SQL per batch (on SQLite, batches of at most
999 parameters) and are most of the time a bulk merge spends; these helpers prepare values
with the fields' own `get_db_prep_save`, so what is stored is what the ORM would store.
Callers own the transaction and what the rows mean (no signals, no `save()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper


def _connection() -> BaseDatabaseWrapper:
    """The default connection itself: `django.db.connection` is a proxy that looks the
    connection up again on every attribute access (millions of times in a bulk merge)."""
    return connections[DEFAULT_DB_ALIAS]


def _columns(model: type[models.Model], attnames: Sequence[str]) -> list[models.Field[Any, Any]]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return [by_attname[name] for name in attnames]


def insert_rows(objs: Sequence[models.Model]) -> None:
    """INSERT every object (all concrete columns; auto_now/auto_now_add filled as on save)."""
    connection = _connection()
    if not objs:
        return
    model = type(objs[0])
    fields = list(model._meta.concrete_fields)
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(fields))
    names = ", ".join(qn(f.column) for f in fields)
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def update_rows(model: type[models.Model], attnames: Sequence[str], rows: list[list[Any]]) -> None:
    """UPDATE model SET attnames = row[:-1] WHERE pk = row[-1], for every row."""
    connection = _connection()
    if not rows:
        return
    columns = _columns(model, attnames)
    pk = model._meta.pk
    if pk is None:  # pragma: no cover (every concrete model has one)
        raise TypeError(f"{model.__name__} has no primary key")
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in columns)
    sql = f"UPDATE {qn(model._meta.db_table)} SET {assignments} WHERE {qn(pk.column)} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(v, connection) for f, v in zip(columns, row[:-1], strict=True)]
        + [pk.get_db_prep_value(row[-1], connection)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def rows_where_in(
    model: type[models.Model],
    field: str,
    prepared: Sequence[Any],
    columns: Sequence[str],
    order_by: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """SELECT columns FROM model WHERE field IN (prepared) [ORDER BY order_by].

    `prepared` are database values (`get_db_prep_value`), made once by the caller for several
    tables; results come back through the fields' `to_python` (ids, flags; not for times).
    """
    connection = _connection()
    if not prepared:
        return []
    fields = _columns(model, columns)
    where = _columns(model, [field])[0]
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(prepared))
    sql = f"SELECT {names} FROM {qn(model._meta.db_table)} WHERE {qn(where.column)} IN ({marks})"  # noqa: S608
    if order_by:
        sql += " ORDER BY " + ", ".join(qn(_columns(model, [c])[0].column) for c in order_by)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(prepared))
        raw = cursor.fetchall()
    return [
        tuple(None if v is None else f.to_python(v) for f, v in zip(fields, row, strict=True))
        for row in raw
    ]
