"""Every write to customers, accounts and identities."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from loxodon.core.access import require_supervisor
from loxodon.core.errors import Conflict, InvalidInput, NotFound
from loxodon.customers import events as customer_events
from loxodon.customers import merging
from loxodon.customers.models import (
    STRONG_KINDS,
    Account,
    Customer,
    Erasure,
    Identity,
    IdentityKind,
    MatchReview,
    Merge,
)
from loxodon.customers.normalise import normalise_identity, normalise_postcode
from loxodon.org.models import Site

if TYPE_CHECKING:
    from loxodon.org.models import User


def _split_name(name: str) -> tuple[str, str]:
    parts = name.strip().split()
    if len(parts) < 2:
        return (parts[0] if parts else "", "")
    return " ".join(parts[:-1]), parts[-1]


def _account_for(spec: dict[str, Any] | None) -> Account | None:
    if not spec:
        return None
    if spec.get("id"):
        try:
            return Account.objects.get(pk=spec["id"])
        except (Account.DoesNotExist, ValueError):
            raise NotFound(f"no account with id '{spec['id']}'") from None
    name = (spec.get("name") or "").strip()
    if not name:
        raise InvalidInput("account needs an id or a name")
    existing = Account.objects.filter(name__iexact=name).order_by("created_at").first()
    if existing is not None:
        return existing
    return Account.objects.create(
        name=name,
        industry=spec.get("industry") or "",
        size=spec.get("size") or "",
        notes=spec.get("notes") or "",
        key_contacts=spec.get("key_contacts") or [],
    )


def _check_not_verified_elsewhere(kind: str, value: str, customer: Customer | None) -> None:
    if kind not in STRONG_KINDS:
        return
    clash = Identity.objects.filter(kind=kind, value=value, verified=True)
    if customer is not None:
        clash = clash.exclude(customer=customer)
    owner = clash.values_list("customer_id", flat=True).first()
    if owner is not None:
        raise Conflict(
            f"{kind} '{value}' is already verified for another customer",
            customer_id=str(owner),
        )


def _lock_live(customer: Customer) -> Customer:
    """Re-read the customer under its row lock; Conflict if it was merged into another."""
    no_key = connection.features.has_select_for_no_key_update
    locked = Customer.objects.select_for_update(no_key=no_key).filter(pk=customer.pk).first()
    if locked is None:
        raise NotFound(f"no customer with id '{customer.pk}'")
    if locked.merged_into_id is not None:
        raise Conflict(
            f"customer '{locked.name}' was merged into another customer: use that one",
            merged_into=str(locked.merged_into_id),
        )
    return locked


@transaction.atomic
def create_customer(
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    account_number: str | None = None,
    account: dict[str, Any] | None = None,
    site: Site | None = None,
    verified: bool = False,
    date_of_birth: date | None = None,
    street: str = "",
    city: str = "",
    postcode: str = "",
    source: str = "loxodon",
) -> Customer:
    """A new customer with their first identifiers.

    Account numbers are issued by us, so they are verified from the start; email and phone are
    verified only when the caller says so (the customer proved them).
    """
    if not name or not name.strip():
        raise InvalidInput("name must not be empty")
    identifiers: list[tuple[str, str, bool]] = []
    for kind, raw, is_verified in (
        (IdentityKind.EMAIL, email, verified),
        (IdentityKind.PHONE, phone, verified),
        (IdentityKind.ACCOUNT_NUMBER, account_number, True),
    ):
        if raw:
            value = normalise_identity(kind, raw)
            if is_verified:
                _check_not_verified_elsewhere(kind, value, None)
            identifiers.append((kind, value, is_verified))
    first, last = _split_name(name)
    customer = Customer.objects.create(
        name=name.strip(),
        first_name=first,
        last_name=last,
        account=_account_for(account),
        home_site=site,
        country=site.country if site else "",
        date_of_birth=date_of_birth,
        street=street,
        city=city,
        postcode=normalise_postcode(postcode) if postcode else "",
    )
    Identity.objects.bulk_create(
        Identity(customer=customer, kind=k, value=v, verified=ver, source=source, site=site)
        for k, v, ver in identifiers
    )
    return customer


def add_identity(
    *,
    customer: Customer,
    kind: str,
    value: str,
    verified: bool = False,
    source: str = "loxodon",
    site: Site | None = None,
) -> tuple[Identity, bool]:
    """Attach an identifier; repeating it is harmless. Returns (identity, created)."""
    normalised = normalise_identity(kind, value)
    with transaction.atomic():
        # Under the customer's row lock, like merges: an identifier is never added to a
        # customer that a concurrent merge has just absorbed.
        _lock_live(customer)
        existing = (
            Identity.objects.select_for_update()
            .filter(customer=customer, kind=kind, value=normalised)
            .first()
        )
        if verified:
            _check_not_verified_elsewhere(kind, normalised, customer)
        if existing is not None:
            if verified and not existing.verified:
                existing.verified = True
                existing.save(update_fields=["verified", "updated_at"])
            return existing, False
        try:
            with transaction.atomic():
                identity = Identity.objects.create(
                    customer=customer,
                    kind=kind,
                    value=normalised,
                    verified=verified,
                    source=source,
                    site=site,
                )
        except IntegrityError:
            raise Conflict(
                f"{kind} '{normalised}' is already verified for another customer"
            ) from None
    return identity, True


def create_customers_for_contacts(
    contacts: Iterable[tuple[str, list[tuple[str, str]]]], *, source: str, site: Site | None
) -> list[Customer]:
    """New, unverified customers for contacts nobody recognised (one per (name, identifiers)).

    Called inside the caller's transaction by channel ingest; batch linkage later merges any
    that turn out to be the same person.
    """
    created = []
    for name, identifiers in contacts:
        first, last = _split_name(name)
        customer = Customer.objects.create(
            name=name, first_name=first, last_name=last, home_site=site
        )
        Identity.objects.bulk_create(
            Identity(customer=customer, kind=k, value=v, verified=False, source=source, site=site)
            for k, v in identifiers
        )
        created.append(customer)
    return created


# --- Merges (issue 5, point 4). The mechanics live in customers/merging.py. ---------------------

PROFILE_FIELDS = merging.PROFILE_FIELDS


@dataclass(frozen=True)
class FieldChange:
    """One profile field of the survivor as a merge would change (or keep) it.

    `losing_value` is the differing non-empty value that loses and goes to `profile_history`
    (None when nothing is lost). Values are JSON-friendly (ids for foreign keys, ISO dates).
    """

    field: str
    before: Any
    after: Any
    losing_value: Any = None


@dataclass
class MergePlan:
    """What merging `absorbed` into `survivor` would do; computed without writing anything.

    `moves` counts rows per "app_label.Model.field" label that would be re-pointed;
    `profile_after` is the survivor's profile afterwards; `changes` lists every profile field
    that differs between the two; `conflicts` are the losing values kept as history;
    `warnings` are things a reviewer should know (e.g. both have open cases).
    """

    survivor: Customer
    absorbed: Customer
    moves: dict[str, int] = field(default_factory=dict)
    profile_after: dict[str, Any] = field(default_factory=dict)
    changes: list[FieldChange] = field(default_factory=list)
    conflicts: list[FieldChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _activity(customer: Customer) -> int:
    from loxodon.cases.models import Case
    from loxodon.timeline.models import Event

    return (
        Event.objects.filter(customer_id=customer.pk).count()
        + Case.objects.filter(customer_id=customer.pk).count()
    )


def choose_survivor(a: Customer, b: Customer) -> tuple[Customer, Customer]:
    """(survivor, absorbed): the verified profile, then more events and cases, then the older."""
    if a.profile_verified != b.profile_verified:
        return (a, b) if a.profile_verified else (b, a)
    activity_a, activity_b = _activity(a), _activity(b)
    if activity_a != activity_b:
        return (a, b) if activity_a > activity_b else (b, a)
    return (a, b) if (a.created_at, str(a.pk)) <= (b.created_at, str(b.pk)) else (b, a)


def _warnings(survivor: Customer, absorbed: Customer, outcomes: list[Any]) -> list[str]:
    from loxodon.cases.models import OPEN_STATUSES, Case

    warnings = []
    open_counts = [
        Case.objects.filter(customer_id=c.pk, status__in=OPEN_STATUSES).count()
        for c in (survivor, absorbed)
    ]
    if all(open_counts):
        warnings.append(
            f"both have open cases ({open_counts[0]} and {open_counts[1]}): "
            "check whether they are about the same problem"
        )
    by_field = {o.field: o for o in outcomes}
    for name, label in (("date_of_birth", "dates of birth"), ("account", "business accounts")):
        if by_field[name].losing_value is not None:
            warnings.append(f"different {label}: are they really the same person?")
    if absorbed.profile_verified and not survivor.profile_verified:
        warnings.append("the absorbed customer's profile is verified: its values win")
    duplicates = merging.identity_plan(survivor, absorbed).duplicates
    if duplicates:
        warnings.append(
            f"{len(duplicates)} identifier(s) known on both are kept once, on the survivor"
        )
    return warnings


def plan_merge(*, survivor: Customer, absorbed: Customer) -> MergePlan:
    """What a merge would move and change; pure (no writes). Same rules as merge_customers."""
    outcomes = merging.survivorship(survivor, absorbed)
    changes = [
        FieldChange(o.field, o.before, o.after, o.losing_value)
        for o in outcomes
        if o.before != o.after or o.losing_value is not None
    ]
    return MergePlan(
        survivor=survivor,
        absorbed=absorbed,
        moves=merging.count_moves(absorbed, survivor),
        profile_after={o.field: o.after for o in outcomes},
        changes=changes,
        conflicts=[c for c in changes if c.losing_value is not None],
        warnings=_warnings(survivor, absorbed, outcomes),
    )


def _lock_pair(a_id: uuid.UUID, b_id: uuid.UUID) -> dict[uuid.UUID, Customer]:
    """Both customers re-read under row locks, always in id order (no deadlocks between merges).

    On PostgreSQL the lock is FOR NO KEY UPDATE: it excludes other merges and edits of the
    customer but lets rows that merely reference the customer (a note on its case) be written,
    so those writers are not deadlocked against the merge; the merge then moves what they wrote.
    """
    no_key = connection.features.has_select_for_no_key_update
    rows = Customer.objects.select_for_update(no_key=no_key).filter(pk__in=[a_id, b_id])
    locked = {c.pk: c for c in rows.order_by("pk")}
    for pk in (a_id, b_id):
        if pk not in locked:
            raise NotFound(f"no customer with id '{pk}'")
    return locked


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason must not be empty: say why (it is kept with the merge)")
    return reason


def merge_customers(
    *,
    survivor: Customer,
    absorbed: Customer,
    by: User | None,
    reason: str,
    method: str = Merge.Method.MANUAL,
    score: float | None = None,
) -> Merge:
    """Absorb one customer into another in one transaction; returns the merge record.

    Locks both customers (by id order), re-points every row that references the absorbed
    customer, applies survivorship to the profile, hides the absorbed record
    (`merged_into`) and writes a staff-only timeline event. Conflict if either is already
    merged or they are the same customer; InvalidInput if the reason is empty. `by=None` is
    the system (batch linkage); a person must be a supervisor or an admin.
    """
    if by is not None:
        require_supervisor(by, "merging customers needs a supervisor or an admin")
    reason = _reason(reason)
    if method not in Merge.Method.values:
        raise InvalidInput(f"method must be one of {', '.join(Merge.Method.values)}")
    if survivor.pk == absorbed.pk:
        raise Conflict("cannot merge a customer into itself")
    with transaction.atomic():
        locked = _lock_pair(survivor.pk, absorbed.pk)
        survivor, absorbed = locked[survivor.pk], locked[absorbed.pk]
        for c in (absorbed, survivor):
            if c.merged_into_id is not None:
                raise Conflict(
                    f"customer '{c.name}' ({c.pk}) was already merged into '{c.merged_into_id}'",
                    customer_id=str(c.pk),
                    merged_into=str(c.merged_into_id),
                )
        outcomes = merging.survivorship(survivor, absorbed)
        merge = Merge.objects.create(
            survivor=survivor,
            absorbed=absorbed,
            method=method,
            merged_by=by,
            reason=reason,
            score=score,
            survivor_before=merging.profile_snapshot(survivor),
            absorbed_before=merging.profile_snapshot(absorbed),
        )
        record = merging.move_everything(survivor, absorbed)
        merge.moved = record.moved
        merge.survivor_before["identities_verified"] = record.survivor_identities_verified
        merge.absorbed_before["identities_removed"] = record.removed_identities
        merge.save(update_fields=["moved", "survivor_before", "absorbed_before", "updated_at"])

        now = timezone.now()
        history = list(survivor.profile_history or []) + list(absorbed.profile_history or [])
        for o in outcomes:
            if o.losing_value is not None:
                history.append(
                    {
                        "field": o.field,
                        "value": o.losing_value,
                        "merge_id": str(merge.pk),
                        "at": now.isoformat(),
                        "from_customer": str(o.losing_customer),
                    }
                )
            attname = merging.attname_of(o.field)
            setattr(survivor, attname, merging.column_value(attname, o.after))
        survivor.profile_history = history
        survivor.profile_verified = survivor.profile_verified or absorbed.profile_verified
        stamps = [t for t in (survivor.profile_updated_at, absorbed.profile_updated_at) if t]
        survivor.profile_updated_at = max(stamps) if stamps else None
        survivor.save(
            update_fields=[
                *(merging.attname_of(f) for f in merging.PROFILE_FIELDS),
                "profile_history",
                "profile_verified",
                "profile_updated_at",
                "updated_at",
            ]
        )
        absorbed.merged_into = survivor
        absorbed.save(update_fields=["merged_into", "updated_at"])
        # Suggestions about the absorbed record no longer apply; the pair itself is decided.
        MatchReview.objects.filter(
            Q(customer_a=absorbed) | Q(customer_b=absorbed), status=MatchReview.Status.PENDING
        ).exclude(Q(customer_a=survivor) | Q(customer_b=survivor)).update(
            status=MatchReview.Status.OBSOLETE
        )
        MatchReview.objects.filter(
            Q(customer_a=absorbed, customer_b=survivor)
            | Q(customer_a=survivor, customer_b=absorbed),
            status=MatchReview.Status.PENDING,
        ).update(status=MatchReview.Status.MERGED, merge=merge, decided_by=by, decided_at=now)
        customer_events.customer_merged(merge, by)
    return merge


def unmerge(*, merge: Merge, by: User | None, reason: str) -> tuple[Customer, Customer]:
    """Undo a merge exactly; returns (survivor, absorbed) as they are afterwards.

    Every moved row goes back, both profiles and identity verification flags are restored
    and that merge's history entries removed; rows created on the survivor since stay there.
    Conflict if the merge is already undone or a later merge depends on it.
    """
    if by is not None:
        require_supervisor(by, "undoing a merge needs a supervisor or an admin")
    reason = _reason(reason)
    with transaction.atomic():
        locked = _lock_pair(merge.survivor_id, merge.absorbed_id)
        survivor, absorbed = locked[merge.survivor_id], locked[merge.absorbed_id]
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise Conflict("this merge was already undone", merge_id=str(merge.pk))
        if Erasure.objects.filter(erased_customer_id=survivor.pk).exists():
            raise Conflict(
                "these customers were erased (right to be forgotten): the merge cannot be undone",
                merge_id=str(merge.pk),
            )
        if survivor.merged_into_id is not None:
            raise Conflict(
                f"'{survivor.name}' was merged into another customer since: undo that merge first",
                merged_into=str(survivor.merged_into_id),
            )
        later = (
            Merge.objects.filter(survivor=survivor, undone_at__isnull=True)
            .filter(
                Q(created_at__gt=merge.created_at) | Q(created_at=merge.created_at, pk__gt=merge.pk)
            )
            .order_by("created_at")
            .first()
        )
        if later is not None:
            raise Conflict(
                f"'{survivor.name}' absorbed another customer since this merge: undo the later "
                "merge first (merges are undone newest first)",
                later_merge_id=str(later.pk),
            )
        if absorbed.merged_into_id != survivor.pk:
            raise Conflict("the absorbed customer is no longer merged into the survivor")

        merging.move_back(survivor, absorbed, merge.moved)
        merging.restore_identities(
            merge.survivor_before.get("identities_verified", {}),
            merge.absorbed_before.get("identities_removed", []),
        )
        Customer.objects.filter(pk=survivor.pk).update(
            **merging.profile_columns(merge.survivor_before)
        )
        Customer.objects.filter(pk=absorbed.pk).update(
            merged_into=None, **merging.profile_columns(merge.absorbed_before)
        )
        merge.undone_at = timezone.now()
        merge.undone_by = by
        merge.undo_reason = reason
        merge.save(update_fields=["undone_at", "undone_by", "undo_reason", "updated_at"])
        # The pair may be suggested again: its decision no longer stands.
        MatchReview.objects.filter(merge=merge).update(status=MatchReview.Status.OBSOLETE)
        customer_events.customer_unmerged(merge, by)
        survivor.refresh_from_db()
        absorbed.refresh_from_db()
    return survivor, absorbed


def decide_review(
    *,
    review: MatchReview,
    by: User,
    decision: Literal["merge", "not_same"],
    note: str = "",
    survivor: Customer | None = None,
) -> MatchReview:
    """A person's decision on a pair from the review queue (supervisors and admins only).

    "merge" merges the pair (survivor chosen by `choose_survivor` unless given) with
    method=review; "not_same" is remembered so the pair is never suggested again.
    Conflict if already decided, or (marking it obsolete) if either was merged meanwhile.
    """
    require_supervisor(by, "review decisions need a supervisor or an admin")
    if decision not in ("merge", "not_same"):
        raise InvalidInput("decision must be 'merge' or 'not_same'")
    note = (note or "").strip()
    pair = MatchReview.objects.filter(pk=review.pk).values_list("customer_a", "customer_b").first()
    if pair is None:
        raise NotFound(f"no review with id '{review.pk}'")
    merged_meanwhile: list[Customer] = []
    with transaction.atomic():
        # Same lock order as merges (customers by id, then review rows), so a decision and a
        # merge of one of its customers cannot deadlock.
        locked = _lock_pair(*pair)
        a, b = locked[pair[0]], locked[pair[1]]
        review = MatchReview.objects.select_for_update().get(pk=review.pk)
        if review.status == MatchReview.Status.OBSOLETE:
            raise Conflict(
                "this pair no longer applies: one of them was merged with someone else "
                "meanwhile, or their merge was undone",
                status=review.status,
            )
        if review.status != MatchReview.Status.PENDING:
            raise Conflict(
                f"this pair was already decided ({review.get_status_display().lower()})",
                status=review.status,
            )
        merged_meanwhile = [c for c in (a, b) if c.merged_into_id is not None]
        if merged_meanwhile:
            review.status = MatchReview.Status.OBSOLETE
            review.save(update_fields=["status", "updated_at"])
        else:
            merge = None
            if decision == "merge":
                if survivor is None:
                    kept, gone = choose_survivor(a, b)
                elif survivor.pk in (a.pk, b.pk):
                    kept, gone = (a, b) if survivor.pk == a.pk else (b, a)
                else:
                    raise InvalidInput("survivor must be one of the two customers of this pair")
                merge = merge_customers(
                    survivor=kept,
                    absorbed=gone,
                    by=by,
                    reason=note or f"Same person (review of a match scored {review.score:.2f})",
                    method=Merge.Method.REVIEW,
                    score=review.score,
                )
                review.status = MatchReview.Status.MERGED
            else:
                review.status = MatchReview.Status.NOT_SAME
            review.merge = merge
            review.decided_by = by
            review.decided_at = timezone.now()
            review.note = note
            review.save(
                update_fields=["status", "merge", "decided_by", "decided_at", "note", "updated_at"]
            )
    if merged_meanwhile:  # raised after the commit, so the review stays obsolete
        names = " and ".join(f"'{c.name}'" for c in merged_meanwhile)
        verb = "were" if len(merged_meanwhile) > 1 else "was"
        raise Conflict(f"{names} {verb} merged into another customer meanwhile: nothing to decide")
    return review


# --- Bulk merges: batch linkage (ADR 0011, "Bulk merges"). ----------------------------------------

#: Absorbed records per transaction in `merge_clusters`.
BULK_CHUNK = 1000


@dataclass(frozen=True)
class SkippedMerge:
    """An absorbed record `merge_clusters` did not merge, and why (the single merge's error)."""

    absorbed_id: uuid.UUID
    survivor_id: uuid.UUID
    reason: str


@dataclass
class BulkMergeResult:
    merges: list[Merge] = field(default_factory=list)
    skipped: list[SkippedMerge] = field(default_factory=list)


Cluster = tuple[Customer, Sequence[tuple[Customer, float | None]]]


def merge_clusters(
    clusters: Sequence[Cluster],
    *,
    by: User | None,
    reason: str,
    method: str = Merge.Method.AUTOMATIC,
    chunk_size: int = BULK_CHUNK,
    times: merging.StageTimes | None = None,
) -> BulkMergeResult:
    """Many merges at once: each (survivor, [(absorbed, score), ...]) merged in that order.

    The outcome is exactly what one `merge_customers` call per absorbed record would give
    (same Merge rows, moves, profiles, history, events, review updates; `unmerge` works on
    each), but written with a fixed number of queries per chunk of about `chunk_size`
    absorbed records, one transaction per chunk (a cluster is never split). A chunk's
    customers are locked in id order. An absorbed record already merged (or whose survivor
    was) is skipped with the reason; if a chunk would break a unique constraint, that chunk is
    merged one record at a time instead, so the clashing record is skipped with its exact error.
    """
    if by is not None:
        require_supervisor(by, "merging customers needs a supervisor or an admin")
    reason = _reason(reason)
    if method not in Merge.Method.values:
        raise InvalidInput(f"method must be one of {', '.join(Merge.Method.values)}")
    seen: set[uuid.UUID] = set()
    for survivor, absorbed in clusters:
        for c in (survivor, *(a for a, _ in absorbed)):
            if c.pk in seen:
                raise InvalidInput(f"customer {c.pk} appears in more than one place")
            seen.add(c.pk)
    result = BulkMergeResult()
    chunk: list[Cluster] = []
    size = 0
    for cluster in clusters:
        if chunk and size + len(cluster[1]) > chunk_size:
            _merge_chunk(chunk, by, reason, method, result, times)
            chunk, size = [], 0
        chunk.append(cluster)
        size += len(cluster[1])
    if chunk:
        _merge_chunk(chunk, by, reason, method, result, times)
    return result


def _merge_chunk(
    chunk: list[Cluster],
    by: User | None,
    reason: str,
    method: str,
    result: BulkMergeResult,
    times: merging.StageTimes | None,
) -> None:
    times = times or merging.StageTimes()
    try:
        with transaction.atomic():
            times.start()
            ids = [
                c.pk for survivor, absorbed in chunk for c in (survivor, *(a for a, _ in absorbed))
            ]
            no_key = connection.features.has_select_for_no_key_update
            rows = Customer.objects.select_for_update(no_key=no_key).filter(pk__in=ids)
            locked = {c.pk: c for c in rows.order_by("pk")}
            work: list[merging.ClusterMerge] = []
            for survivor, absorbed in chunk:
                kept = locked.get(survivor.pk)
                todo = []
                for a, score in absorbed:
                    gone = locked.get(a.pk)
                    problem = _bulk_refusal(gone, kept, a.pk, survivor.pk)
                    if gone is None or problem:
                        result.skipped.append(SkippedMerge(a.pk, survivor.pk, problem))
                    else:
                        todo.append((gone, score))
                if kept is not None and todo:
                    work.append(merging.ClusterMerge(kept, todo))
            times.lap("lock")
            merges = merging.merge_in_bulk(work, by=by, reason=reason, method=method, times=times)
        times.lap("commit")
    except IntegrityError:
        _merge_one_by_one(chunk, by, reason, method, result)
        return
    result.merges.extend(merges)


def _bulk_refusal(
    absorbed: Customer | None,
    survivor: Customer | None,
    absorbed_id: uuid.UUID,
    survivor_id: uuid.UUID,
) -> str:
    """Why merge_customers would refuse this pair ("" if it would not), in its words."""
    if absorbed is None:
        return f"no customer with id '{absorbed_id}'"
    if survivor is None:
        return f"no customer with id '{survivor_id}'"
    if absorbed.pk == survivor.pk:
        return "cannot merge a customer into itself"
    for c in (absorbed, survivor):
        if c.merged_into_id is not None:
            return f"customer '{c.name}' ({c.pk}) was already merged into '{c.merged_into_id}'"
    return ""


def _merge_one_by_one(
    chunk: list[Cluster], by: User | None, reason: str, method: str, result: BulkMergeResult
) -> None:
    for survivor, absorbed in chunk:
        for a, score in absorbed:
            try:
                merge = merge_customers(
                    survivor=survivor, absorbed=a, by=by, reason=reason, method=method, score=score
                )
            except (Conflict, InvalidInput, NotFound) as exc:
                result.skipped.append(SkippedMerge(a.pk, survivor.pk, str(exc)))
            else:
                result.merges.append(merge)


def choose_survivors(groups: Sequence[Sequence[Customer]]) -> list[tuple[Customer, list[Customer]]]:
    """`choose_survivor` applied across each group, for many groups with two counting queries.

    Returns (survivor, the others in their given order) per group.
    """
    from django.db.models import Count

    from loxodon.cases.models import Case
    from loxodon.timeline.models import Event

    ids = [c.pk for group in groups for c in group]
    activity: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    for model in (Event, Case):
        counts = (
            model._default_manager.filter(customer_id__in=ids)
            .order_by()
            .values_list("customer_id")
            .annotate(n=Count("pk"))
        )
        for customer_id, n in counts:
            activity[customer_id] += n
    out = []
    for group in groups:
        survivor = min(
            group,
            key=lambda c: (not c.profile_verified, -activity[c.pk], c.created_at, str(c.pk)),
        )
        out.append((survivor, [c for c in group if c.pk != survivor.pk]))
    return out
