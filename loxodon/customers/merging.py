"""The mechanics of merging two customers and undoing it (ADR 0011).

`customers.services` is the entry point (permissions, locks, the transaction); this module knows
which rows point at a customer, how to move them and back, and the survivorship rules.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import IntegrityError, connection, connections, models, transaction
from django.utils import timezone

from loxodon.core.bulk import insert_rows, rows_where_in, update_rows
from loxodon.core.errors import Conflict
from loxodon.customers.models import Customer, Identity, MatchReview, Merge

if TYPE_CHECKING:
    from loxodon.org.models import User

#: Profile fields decided by survivorship when two customers merge.
PROFILE_FIELDS = (
    "name",
    "first_name",
    "last_name",
    "date_of_birth",
    "street",
    "city",
    "postcode",
    "country",
    "account",
    "home_site",
)
# Further fields a merge changes and an unmerge must put back exactly.
_BOOKKEEPING_FIELDS = ("profile_verified", "profile_updated_at", "profile_history", "updated_at")

# References to a customer that are the customers app's own merge bookkeeping: never moved.
_NOT_MOVED = frozenset(
    {
        "customers.Customer.merged_into",
        "customers.Merge.survivor",
        "customers.Merge.absorbed",
        "customers.MatchReview.customer_a",
        "customers.MatchReview.customer_b",
    }
)
IDENTITY_LABEL = "customers.Identity.customer"
EVENT_LABEL = "timeline.Event.customer"


@dataclass(frozen=True)
class Relation:
    """One foreign key pointing at Customer, e.g. "cases.Case.customer"."""

    model: type[models.Model]
    field: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"

    def rows_of(self, customer_id: uuid.UUID) -> models.QuerySet[Any]:
        return self.model._default_manager.filter(**{self.field: customer_id})


def relations() -> list[Relation]:
    """Every foreign key to Customer (hidden ones too), found from the models, in move order.

    Identities first (they have their own rules); timeline events last, because services that
    write events lock another row first (a case), so a concurrent note lands before we move.
    """
    found = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        field = getattr(rel, "field", None)
        if field is None or not field.concrete or rel.many_to_many:
            continue  # many-to-many: its through table's foreign keys are listed instead
        model = rel.related_model
        if not (isinstance(model, type) and issubclass(model, models.Model)):
            continue
        relation = Relation(model, field.name)
        if relation.label not in _NOT_MOVED:
            found.append(relation)
    order = {IDENTITY_LABEL: 0, EVENT_LABEL: 2}
    return sorted(found, key=lambda r: (order.get(r.label, 1), r.label))


def relation_for(label: str) -> Relation:
    app_label, model_name, field = label.split(".")
    return Relation(apps.get_model(app_label, model_name), field)


@functools.cache
def attname_of(name: str) -> str:
    """The column attribute of a Customer field ("account" -> "account_id")."""
    field = Customer._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"Customer.{name} is not a column")
    return field.attname


# --- JSON snapshots -------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@functools.cache
def _field_by_attname(model: type[models.Model], attname: str) -> models.Field[Any, Any]:
    return next(f for f in model._meta.concrete_fields if f.attname == attname)


def _from_json(model: type[models.Model], attname: str, value: Any) -> Any:
    if value is None:
        return None
    field = _field_by_attname(model, attname)
    if isinstance(field, models.JSONField):
        return value
    return field.to_python(value)


def row_snapshot(obj: models.Model) -> dict[str, Any]:
    """Every concrete column of a row, JSON-friendly (what recreating it exactly needs)."""
    return {f.attname: to_json(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def row_from_snapshot(model: type[models.Model], snap: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_json(model, k, v) for k, v in snap.items()}


def profile_snapshot(customer: Customer) -> dict[str, Any]:
    """The survivorship fields and bookkeeping of a customer (foreign keys as ids)."""
    out: dict[str, Any] = {}
    for name in (*PROFILE_FIELDS, *_BOOKKEEPING_FIELDS):
        attname = attname_of(name)
        out[name] = to_json(getattr(customer, attname))
    out["profile_history"] = list(customer.profile_history or [])
    return out


def column_value(attname: str, value: Any) -> Any:
    """A JSON-friendly value back as the Customer column `attname` holds it."""
    return _from_json(Customer, attname, value)


def profile_columns(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Column values (by attname) for `Customer.objects.update()` from a profile snapshot."""
    columns = {}
    for name in (*PROFILE_FIELDS, *_BOOKKEEPING_FIELDS):
        attname = attname_of(name)
        columns[attname] = _from_json(Customer, attname, snapshot[name])
    return columns


# --- survivorship ---------------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == ""


def profile_rank(customer: Customer) -> tuple[bool, datetime]:
    """Whose profile wins: the verified one, then the most recently set."""
    return (customer.profile_verified, customer.profile_updated_at or customer.updated_at)


@dataclass(frozen=True)
class FieldOutcome:
    field: str
    before: Any  # survivor's value
    after: Any
    losing_value: Any  # a differing non-empty value that loses, else None
    losing_customer: uuid.UUID | None


def survivorship(survivor: Customer, absorbed: Customer) -> list[FieldOutcome]:
    """Per profile field: the preferred profile's value unless empty; what loses, from whom."""
    return [
        FieldOutcome(
            field=name,
            before=to_json(getattr(survivor, attname_of(name))),
            after=after,
            losing_value=losing,
            losing_customer=loser,
        )
        for name, after, _, losing, loser in _survivorship(survivor, absorbed)
    ]


def _survivorship(
    survivor: Customer, absorbed: Customer
) -> list[tuple[str, Any, Any, Any, uuid.UUID | None]]:
    """The rule itself, per field: (name, value after as JSON, the same as the column holds it,
    losing value or None, its customer or None). Bulk merges apply the column values directly
    (no round trip through JSON)."""
    survivor_first = profile_rank(survivor) >= profile_rank(absorbed)
    preferred, other = (survivor, absorbed) if survivor_first else (absorbed, survivor)
    out = []
    for name in PROFILE_FIELDS:
        attname = attname_of(name)
        pref_raw, alt_raw = getattr(preferred, attname), getattr(other, attname)
        pref, alt = to_json(pref_raw), to_json(alt_raw)
        after, after_raw, loser, lost = pref, pref_raw, other, alt
        if _empty(pref):
            after, after_raw, loser, lost = alt, alt_raw, preferred, pref
        losing = None if _empty(lost) or lost == after else lost
        out.append((name, after, after_raw, losing, loser.pk if losing is not None else None))
    return out


# --- moving rows ----------------------------------------------------------------------------------


def count_moves(absorbed: Customer, survivor: Customer) -> dict[str, int]:
    """Rows per relation that a merge would re-point (identities the survivor has stay put)."""
    counts: dict[str, int] = {}
    for relation in relations():
        if relation.label == IDENTITY_LABEL:
            n = len(identity_plan(survivor, absorbed).move)
        else:
            n = relation.rows_of(absorbed.pk).count()
        if n:
            counts[relation.label] = n
    return counts


@dataclass(frozen=True)
class IdentityPlan:
    move: list[Identity]  # the survivor does not have these: they move
    duplicates: list[tuple[Identity, Identity]]  # (absorbed's copy, survivor's copy)


def identity_plan(survivor: Customer, absorbed: Customer) -> IdentityPlan:
    mine = {(i.kind, i.value): i for i in Identity.objects.filter(customer_id=survivor.pk)}
    move, duplicates = [], []
    for identity in Identity.objects.filter(customer_id=absorbed.pk).order_by("created_at", "id"):
        twin = mine.get((identity.kind, identity.value))
        if twin is None:
            move.append(identity)
        else:
            duplicates.append((identity, twin))
    return IdentityPlan(move=move, duplicates=duplicates)


@dataclass
class MoveRecord:
    moved: dict[str, list[str]]
    removed_identities: list[dict[str, Any]]  # absorbed's copies of identifiers both had
    survivor_identities_verified: dict[str, bool]  # survivor identity id -> verified before


def move_everything(survivor: Customer, absorbed: Customer) -> MoveRecord:
    """Re-point every row of `absorbed` to `survivor`; returns exactly what moved.

    Callers hold both customers' locks inside a transaction.
    """
    record = MoveRecord(moved={}, removed_identities=[], survivor_identities_verified={})
    plan = identity_plan(survivor, absorbed)
    for copy, twin in plan.duplicates:
        # The survivor keeps its own row; the absorbed copy is removed and remembered exactly.
        record.removed_identities.append(row_snapshot(copy))
        copy.delete()
        if copy.verified and not twin.verified:
            record.survivor_identities_verified[str(twin.pk)] = twin.verified
            Identity.objects.filter(pk=twin.pk).update(verified=True)
    for relation in relations():
        if relation.label == IDENTITY_LABEL:
            ids = [i.pk for i in plan.move]
            Identity.objects.filter(pk__in=ids).update(customer_id=survivor.pk)
        else:
            ids = list(relation.rows_of(absorbed.pk).values_list("pk", flat=True))
            if ids:
                _repoint(relation, ids, survivor.pk)
        if ids:
            record.moved[relation.label] = [str(pk) for pk in ids]
    return record


def _repoint(relation: Relation, ids: list[Any], to: uuid.UUID) -> None:
    qs = relation.model._default_manager.filter(pk__in=ids)
    try:
        with transaction.atomic():  # a savepoint: a clash becomes a clear Conflict
            if relation.label == EVENT_LABEL:
                qs.move_to_customer_for_merge(to)  # type: ignore[attr-defined]
            else:
                qs.update(**{relation.field: to})
    except IntegrityError as exc:
        name = relation.model._meta.verbose_name_plural
        raise Conflict(
            f"cannot merge: the two customers' {name} clash ({exc}); resolve that first "
            "(for example end one of two open chats from the same visitor)"
        ) from None


def move_back(survivor: Customer, absorbed: Customer, moved: dict[str, list[str]]) -> None:
    """Undo `move_everything`'s moves (rows that left the survivor since are left alone)."""
    for label in sorted(moved, key=lambda lb: lb == EVENT_LABEL):
        relation = relation_for(label)
        qs = relation.model._default_manager.filter(
            pk__in=moved[label], **{relation.field: survivor.pk}
        )
        if label == EVENT_LABEL:
            qs.move_to_customer_for_merge(absorbed.pk)  # type: ignore[attr-defined]
        else:
            qs.update(**{relation.field: absorbed.pk})


def restore_identities(record_verified: dict[str, bool], removed: list[dict[str, Any]]) -> None:
    """Put back the survivor's verification flags, then the absorbed customer's copies."""
    for pk, verified in record_verified.items():
        Identity.objects.filter(pk=pk).update(verified=verified)
    for snap in removed:
        values = row_from_snapshot(Identity, snap)
        Identity.objects.create(**values)
        # auto_now/auto_now_add overwrote the times on create: put the originals back
        Identity.objects.filter(pk=values["id"]).update(
            created_at=values["created_at"], updated_at=values["updated_at"]
        )


def survivor_id_of(customer_id: uuid.UUID) -> uuid.UUID:
    """Follow `merged_into` to the customer that owns a (possibly absorbed) record's history."""
    seen = {customer_id}
    current = customer_id
    while True:
        parent = (
            Customer.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        )
        if parent is None or parent in seen:
            return current
        seen.add(parent)
        current = parent


class StageTimes:
    """Seconds per stage of bulk merges, summed over chunks (link_customers reports them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._last = time.perf_counter()

    def start(self) -> None:
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] += now - self._last
        self._last = now


# --- bulk merges (merge_clusters) ----------------------------------------------------------------


@dataclass
class ClusterMerge:
    """One survivor and the records it absorbs, in order, each with its match score."""

    survivor: Customer
    absorbed: list[tuple[Customer, float | None]]


def _ordered_ids(n: int) -> list[uuid.UUID]:
    """n random ids in ascending order: merges of one survivor written in the same instant
    sort by id in the order they were made (unmerge undoes newest first)."""
    return sorted(uuid.uuid4() for _ in range(n))


def merge_in_bulk(
    clusters: list[ClusterMerge],
    *,
    by: User | None,
    reason: str,
    method: str,
    times: StageTimes | None = None,
) -> list[Merge]:
    """Merge several clusters with a fixed number of queries; what sequential merges would do.

    Every customer is locked and live, each appears once. The merges of a cluster are worked
    out in memory one after the other, exactly as `merge_customers` makes them (identifiers
    de-duplicated against what the survivor has by then, survivorship against its profile by
    then); then rows are fetched per relation for all absorbed records at once and written
    with one statement per relation. Callers hold the locks inside a transaction; a unique
    constraint that a move would break raises IntegrityError (the caller falls back).
    """
    from loxodon.customers import events as customer_events
    from loxodon.timeline.models import Event

    if not clusters:
        return []
    now = timezone.now()
    survivor_ids = [c.survivor.pk for c in clusters]
    absorbed_ids = [a.pk for c in clusters for a, _ in c.absorbed]

    times = times or StageTimes()
    times.start()
    # identities as plain rows, only what de-duplication needs (model instances and the other
    # columns cost more than the rest of the merge); removed copies are snapshotted below
    # (raw SELECTs with the ids prepared once: building IN lists cost more than running them)
    customer_pk = Customer._meta.get_field("id")
    prepared = {
        pk: customer_pk.get_db_prep_value(pk, connection) for pk in (*survivor_ids, *absorbed_ids)
    }
    absorbed_prepared = _ids([prepared[pk] for pk in absorbed_ids])
    columns = ["id", "customer_id", "kind", "value", "verified"]
    identities: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for values in _where_in(
        Identity, "customer_id", _ids(list(prepared.values())), columns, ("created_at", "id")
    ):
        row = dict(zip(columns, values, strict=True))
        identities[row["customer_id"]].append(row)
    every = relations()
    labels = [relation.label for relation in every]
    rows: dict[str, dict[uuid.UUID, list[Any]]] = {}
    for relation in every:
        if relation.label == IDENTITY_LABEL:
            continue
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        meta = relation.model._meta
        fk = meta.get_field(relation.field).attname  # type: ignore[union-attr]
        pk_attname = meta.pk.attname
        for owner, pk in _where_in(relation.model, fk, absorbed_prepared, [fk, pk_attname]):
            found[owner].append(pk)
        rows[relation.label] = found

    times.lap("read")
    merges: list[Merge] = []
    delete_identities: list[uuid.UUID] = []
    verify_identities: list[uuid.UUID] = []
    moving: dict[str, list[list[Any]]] = defaultdict(list)  # label -> [[survivor, row pk]]
    for cluster in clusters:
        survivor = cluster.survivor
        mine = {(i["kind"], i["value"]): i for i in identities[survivor.pk]}
        for (absorbed, score), merge_id in zip(
            cluster.absorbed, _ordered_ids(len(cluster.absorbed)), strict=True
        ):
            merge = Merge(
                id=merge_id,
                survivor=survivor,
                absorbed=absorbed,
                method=method,
                merged_by=by,
                reason=reason,
                score=score,
                survivor_before=profile_snapshot(survivor),
                absorbed_before=profile_snapshot(absorbed),
            )
            # identifiers: as identity_plan + move_everything would see them now
            moved: dict[str, list[str]] = {}
            removed: list[dict[str, Any]] = []
            verified_before: dict[str, bool] = {}
            moved_identities = []
            for identity in identities[absorbed.pk]:
                twin = mine.get((identity["kind"], identity["value"]))
                if twin is None:
                    moved_identities.append(identity)
                    continue
                removed.append({"id": identity["id"]})  # the full row_snapshot below
                delete_identities.append(identity["id"])
                if identity["verified"] and not twin["verified"]:
                    verified_before[str(twin["id"])] = twin["verified"]
                    twin["verified"] = True
                    verify_identities.append(twin["id"])
            for identity in moved_identities:
                identity["customer_id"] = survivor.pk
                mine[(identity["kind"], identity["value"])] = identity
            for label in labels:
                if label == IDENTITY_LABEL:
                    ids = [i["id"] for i in moved_identities]
                else:
                    ids = rows[label].get(absorbed.pk, [])
                if ids:
                    moved[label] = [str(pk) for pk in ids]
                    moving[label].extend([survivor.pk, pk] for pk in ids)
            merge.moved = moved
            merge.survivor_before["identities_verified"] = verified_before
            merge.absorbed_before["identities_removed"] = removed
            _apply_survivorship(survivor, absorbed, merge, now)
            merges.append(merge)

    times.lap("plan")
    # writes: identifiers first, then every other relation, events last (move order)
    if delete_identities:
        identity_pk = Identity._meta.get_field("id")
        doomed = _ids([identity_pk.get_db_prep_value(pk, connection) for pk in delete_identities])
        full = _identity_snapshots(doomed)
        for merge in merges:
            removed = merge.absorbed_before["identities_removed"]
            removed[:] = [full[entry["id"]] for entry in removed]
        _delete_identities(delete_identities, doomed)
    if verify_identities:
        Identity.objects.filter(pk__in=verify_identities).update(verified=True)
    times.lap("identities")
    for relation in every:
        moves = moving.get(relation.label)
        if not moves:
            continue
        moves.sort(key=_second)  # by row id: index pages in order
        if relation.label == EVENT_LABEL:
            Event.objects.move_each_to_customer_for_merge(moves)
        else:
            field = relation.model._meta.get_field(relation.field)
            update_rows(relation.model, [field.attname], moves)  # type: ignore[union-attr]
    times.lap("moves")
    profile = [
        *(attname_of(f) for f in PROFILE_FIELDS),
        "profile_history",
        "profile_verified",
        "profile_updated_at",
        "updated_at",
    ]
    update_rows(
        Customer,
        profile,
        sorted(
            ([*(getattr(c.survivor, name) for name in profile), c.survivor.pk] for c in clusters),
            key=_last,
        ),
    )
    times.lap("survivors")
    for c in clusters:
        for absorbed, _ in c.absorbed:
            absorbed.merged_into_id = c.survivor.pk
            absorbed.updated_at = now
    update_rows(
        Customer,
        ["merged_into_id", "updated_at"],
        sorted(([c.survivor.pk, now, a.pk] for c in clusters for a, _ in c.absorbed), key=_last),
    )
    times.lap("absorbed")
    insert_rows(sorted(merges, key=_pk))

    times.lap("merge_rows")
    # reviews: of an absorbed record with its survivor → merged; with anyone else → obsolete
    merge_of = {(m.absorbed_id, m.survivor_id): m for m in merges}
    pending: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
    review_columns = ["id", "customer_a_id", "customer_b_id", "status"]
    for side in ("customer_a_id", "customer_b_id"):
        for pk, a, b, status in _where_in(MatchReview, side, absorbed_prepared, review_columns):
            if status == MatchReview.Status.PENDING:
                pending[pk] = (a, b)
    obsolete: list[uuid.UUID] = []
    decided: list[list[Any]] = []
    by_id = by.pk if by is not None else None
    for pk, (a, b) in sorted(pending.items()):
        decision = merge_of.get((a, b)) or merge_of.get((b, a))
        if decision is None:
            obsolete.append(pk)
        else:
            decided.append([MatchReview.Status.MERGED, decision.pk, by_id, now, pk])
    if obsolete:
        MatchReview.objects.filter(pk__in=obsolete).update(status=MatchReview.Status.OBSOLETE)
    if decided:
        update_rows(MatchReview, ["status", "merge_id", "decided_by_id", "decided_at"], decided)
    times.lap("reviews")
    customer_events.customers_merged(merges, by)
    times.lap("events")
    return merges


def _second(row: list[Any]) -> Any:
    return row[1]


def _last(row: list[Any]) -> Any:
    return row[-1]


def _pk(obj: models.Model) -> Any:
    return obj.pk


class _Ids(list[Any]):
    """Customer or row ids as database values, for several `_where_in` queries; on SQLite also
    packed once as one JSON array (a parameter per id cost more than running the query)."""

    packed: str | None = None


def _ids(values: list[Any]) -> _Ids:
    ids = _Ids(values)
    if connections[Customer.objects.db].vendor == "sqlite":
        ids.packed = json.dumps(values)
    return ids


def _in_clause(ids: _Ids) -> tuple[str, list[Any]]:
    if ids.packed is not None:
        return "IN (SELECT value FROM json_each(%s))", [ids.packed]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _where_in(
    model: type[models.Model],
    field: str,
    ids: _Ids,
    columns: list[str],
    order_by: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """`rows_where_in`, with the ids as one JSON parameter on SQLite (json_each)."""
    if ids.packed is None or not ids:
        return rows_where_in(model, field, ids, columns, order_by)
    conn = connections[model._default_manager.db]
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_attname[c] for c in columns]
    qn = conn.ops.quote_name
    names = ", ".join(qn(f.column) for f in fields)
    table, where = qn(model._meta.db_table), qn(by_attname[field].column)
    among, params = _in_clause(ids)
    sql = f"SELECT {names} FROM {table} WHERE {where} {among}"  # noqa: S608
    if order_by:
        sql += " ORDER BY " + ", ".join(qn(by_attname[c].column) for c in order_by)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    return [
        tuple(None if v is None else f.to_python(v) for f, v in zip(fields, row, strict=True))
        for row in raw
    ]


def _identity_snapshots(prepared: _Ids) -> dict[uuid.UUID, dict[str, Any]]:
    """`row_snapshot` of each identity (ids as database values), from one raw SELECT whose
    values go through the converters the ORM would apply (no query building, no instances)."""
    fields = list(Identity._meta.concrete_fields)
    conn = connections[Identity.objects.db]
    converters = []
    for f in fields:
        col = f.get_col(Identity._meta.db_table)
        converters.append([*conn.ops.get_db_converters(col), *col.get_db_converters(conn)])
    qn = conn.ops.quote_name
    names = ", ".join(qn(f.column) for f in fields)
    table, pk = qn(Identity._meta.db_table), qn(Identity._meta.pk.column)
    among, params = _in_clause(prepared)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {table} WHERE {pk} {among}", params)  # noqa: S608
        rows = cursor.fetchall()
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        snap = {}
        for f, steps, value in zip(fields, converters, row, strict=True):
            for step in steps:
                value = step(value, f, conn)
            snap[f.attname] = to_json(value)
        out[uuid.UUID(snap["id"])] = snap
    return out


def _delete_identities(ids: list[uuid.UUID], prepared: _Ids) -> None:
    """Delete these identities as `QuerySet.delete()` would. When no row refers to any of them
    (the usual case: a portal login refers to one now and then), one DELETE statement without
    Django's collector, which loads every row and asks each referring table per batch."""
    referred = False
    for rel in Identity._meta.related_objects:
        model = rel.related_model
        if isinstance(model, type) and issubclass(model, models.Model):
            fk = rel.field.attname
            referred = referred or bool(_where_in(model, fk, prepared, [fk]))
    if referred:
        Identity.objects.filter(pk__in=ids).delete()  # the collector: PROTECT raises as before
        return
    conn = connections[Identity.objects.db]
    qn = conn.ops.quote_name
    table, pk = qn(Identity._meta.db_table), qn(Identity._meta.pk.column)
    among, params = _in_clause(prepared)
    with conn.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {pk} {among}", params)  # noqa: S608


def _apply_survivorship(
    survivor: Customer, absorbed: Customer, merge: Merge, now: datetime
) -> None:
    """What merge_customers does to both profiles, in memory (same rules, same history)."""
    outcomes = _survivorship(survivor, absorbed)
    history = list(survivor.profile_history or []) + list(absorbed.profile_history or [])
    for name, _, after_raw, losing, loser in outcomes:
        if losing is not None:
            history.append(
                {
                    "field": name,
                    "value": losing,
                    "merge_id": str(merge.pk),
                    "at": now.isoformat(),
                    "from_customer": str(loser),
                }
            )
        setattr(survivor, attname_of(name), after_raw)
    survivor.profile_history = history
    survivor.profile_verified = survivor.profile_verified or absorbed.profile_verified
    stamps = [t for t in (survivor.profile_updated_at, absorbed.profile_updated_at) if t]
    survivor.profile_updated_at = max(stamps) if stamps else None
    survivor.updated_at = now
