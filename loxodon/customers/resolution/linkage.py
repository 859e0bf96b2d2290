"""Batch linkage of the customer base: `loxodon link_customers` runs `run_linkage`.

1. Read every live customer (not merged away) with one email, phone and account number each
   (verified first) into a data frame, in chunks.
2. Score with Splink (`engine.link`): the active MatchModel, or train one (stored as a new
   MatchModel) when asked or when there is none.
3. Apply: each cluster of pairs above the auto threshold (and free of hard conflicts) is merged
   into one survivor with `services.merge_clusters(method=automatic)` (the same outcome as one
   `merge_customers` per absorbed record, written in bulk), unless a person once
   said two of its members are not the same person (then its pairs go to review). Pairs
   between the review and the auto threshold become pending `MatchReview`s, except pairs
   already reviewed or pending. A `LinkageRun` records the figures.
"""

from __future__ import annotations

import resource
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loxodon.core.errors import InvalidInput
from loxodon.customers.models import (
    Customer,
    Identity,
    IdentityKind,
    LinkageRun,
    MatchModel,
    MatchReview,
    Merge,
)
from loxodon.customers.resolution import engine
from loxodon.customers.resolution.model import Model, packaged_model
from loxodon.customers.resolution.spec import CUSTOMER_SPEC

CHUNK = 20_000
# Customers loaded and merged per `merge_clusters` call, and at most this many absorbed records
# per transaction (1,000 before: five times the commits, and pages shared by neighbouring chunks
# were written to the WAL again each time; a crash loses at most one chunk, which a rerun merges).
# 10,000 wrote a quarter less again, but its in-memory stages looked slower (noisy 100k runs).
MERGE_BATCH = 5_000
MERGE_CHUNK = 5_000
DEFAULT_AUTO = 0.99
DEFAULT_REVIEW = 0.6
# Fewer records than this give EM too few pairs to learn from: the packaged model scores them.
MIN_TRAINING_RECORDS = 200
KINDS = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.ACCOUNT_NUMBER)

Progress = Callable[[str], None]


@dataclass
class Population:
    """The customers being linked: row i of `frame` has unique_id i + 1 and id ids[i]."""

    frame: pd.DataFrame
    ids: list[uuid.UUID]
    in_scope: set[int] | None  # unique ids of the site's customers, None: everyone


@dataclass
class Outcome:
    run: LinkageRun
    merges: list[Merge] = field(default_factory=list)
    reviews: int = 0
    blocked_clusters: int = 0
    skipped_merges: list[str] = field(default_factory=list)


def load_population(site: str | None = None) -> Population:
    """Live customers with their email/phone/account number (one each, verified first)."""
    columns: dict[str, list[Any]] = {
        c: []
        for c in (
            "first_name",
            "last_name",
            "dob",
            "postcode",
            "street",
            "city",
            "email",
            "phone",
            "account_number",
        )
    }
    ids: list[uuid.UUID] = []
    index: dict[uuid.UUID, int] = {}
    live = Customer.objects.filter(merged_into__isnull=True)
    rows = live.values_list(
        "id", "name", "first_name", "last_name", "date_of_birth", "postcode", "street", "city"
    ).order_by()
    for cid, name, first, last, dob, postcode, street, city in rows.iterator(chunk_size=CHUNK):
        if not (first or last) and name:
            first, _, last = name.rpartition(" ")
        index[cid] = len(ids)
        ids.append(cid)
        columns["first_name"].append(first or None)
        columns["last_name"].append(last or None)
        columns["dob"].append(dob)
        columns["postcode"].append(postcode or None)
        columns["street"].append(street or None)
        columns["city"].append(city or None)
        for kind in KINDS:
            columns[str(kind)].append(None)
    identities = (
        Identity.objects.filter(kind__in=KINDS, customer__merged_into__isnull=True)
        .order_by("verified", "-created_at")  # the last written wins: verified, then oldest
        .values_list("customer_id", "kind", "value")
    )
    for cid, kind_name, value in identities.iterator(chunk_size=CHUNK):
        i = index.get(cid)
        if i is not None:
            columns[kind_name][i] = value
    columns_with_id: dict[str, Any] = {**columns, "unique_id": list(range(1, len(ids) + 1))}
    frame = engine.prepare_frame(CUSTOMER_SPEC, columns_with_id)
    in_scope = None
    if site:
        at_site = set(
            Customer.objects.filter(merged_into__isnull=True)
            .filter(Q(home_site__code=site) | Q(identities__site__code=site))
            .values_list("id", flat=True)
            .distinct()
        )
        in_scope = {index[cid] + 1 for cid in at_site if cid in index}
    return Population(frame=frame, ids=ids, in_scope=in_scope)


def active_model() -> MatchModel | None:
    return MatchModel.objects.filter(active=True).order_by("-created_at").first()


def run_linkage(
    *,
    site: str | None = None,
    train: bool = False,
    backend: engine.Backend = "duckdb",
    dry_run: bool = False,
    auto_threshold: float = DEFAULT_AUTO,
    review_threshold: float = DEFAULT_REVIEW,
    progress: Progress | None = None,
) -> Outcome:
    if not 0 < review_threshold <= auto_threshold <= 1:
        raise InvalidInput(
            f"thresholds must satisfy 0 < review ({review_threshold}) <= auto "
            f"({auto_threshold}) <= 1"
        )
    if site:
        from loxodon.org.models import Site

        if not Site.objects.filter(code=site).exists():
            raise InvalidInput(f"no site with code '{site}'")
    say = progress or (lambda _message: None)
    started_at = timezone.now()
    t0 = time.perf_counter()
    say("reading customers")
    population = load_population(site)
    read_s = time.perf_counter() - t0
    n = len(population.ids)
    if train and n < MIN_TRAINING_RECORDS:
        raise InvalidInput(
            f"too few customers to train a model ({n}; at least {MIN_TRAINING_RECORDS}): "
            "run without --train to use the active or packaged model"
        )
    stored = None if train else active_model()
    run = LinkageRun(
        backend=backend,
        scope=f"site:{site}" if site else "all",
        started_at=started_at,
        records=n,
        model=stored,
    )
    if n < 2:
        run.finished_at = timezone.now()
        run.figures = {"note": "fewer than two customers: nothing to link", "dry_run": dry_run}
        if not dry_run:
            run.save()
        return Outcome(run=run)

    settings = stored.settings if stored else None
    if settings is None and not train and n < MIN_TRAINING_RECORDS:
        say(f"only {n} customers: scoring with the packaged model instead of training one")
        settings = packaged_model().settings
    result = engine.link(
        CUSTOMER_SPEC,
        population.frame,
        model=settings,
        train_model=settings is None,
        review_threshold=review_threshold,
        auto_threshold=auto_threshold,
        backend=backend,
        progress=say,
    )
    pairs = result.pairs
    if population.in_scope is not None:
        scope = population.in_scope
        pairs = pairs[pairs["unique_id_l"].isin(scope) | pairs["unique_id_r"].isin(scope)]
    model = Model(CUSTOMER_SPEC, result.model, source="this run")
    outcome = Outcome(run=run)
    run.pairs_scored = len(pairs)
    run.figures = {
        "seconds": {
            "read": round(read_s, 2),
            **{k: round(v, 2) for k, v in result.timings.items()},
        },
        "trained": result.trained,
        "auto_threshold": auto_threshold,
        "review_threshold": review_threshold,
        "dry_run": dry_run,
    }
    if dry_run:
        auto = engine.auto_pairs(CUSTOMER_SPEC, pairs, auto_threshold)
        run.figures["would_merge_pairs"] = len(auto)
        run.figures["would_review_pairs"] = len(pairs) - len(auto)
        run.figures["peak_rss_mb"] = peak_rss_mb()
        run.finished_at = timezone.now()
        return outcome

    if result.trained:
        run.model = MatchModel.objects.create(
            settings=result.model,
            trained_on=n,
            note=f"trained by link_customers ({backend}) on {n} customers",
        )
    run.save()
    say("applying merges and review suggestions")
    t = time.perf_counter()
    with _sqlite_bulk_writes():
        apply(population, pairs, model, run, auto_threshold, outcome)
    run.figures["seconds"]["apply"] = round(time.perf_counter() - t, 2)
    run.auto_merged = len(outcome.merges)
    run.queued_for_review = outcome.reviews
    run.figures["blocked_clusters"] = outcome.blocked_clusters
    run.figures["skipped_merges"] = outcome.skipped_merges[:20]
    run.figures["peak_rss_mb"] = peak_rss_mb()
    run.finished_at = timezone.now()
    run.save()
    return outcome


# SQLite page cache for the merges (KiB): they touch rows all over a large customer table, and a
# transaction of MERGE_CHUNK merges dirties some 60,000 pages, which must not spill early.
SQLITE_CACHE_KIB = 1_048_576
# WAL pages before SQLite copies them back into the database file during the merges (2 GB
# instead of the default 4 MB): each chunk of merges rewrites pages all over the customer,
# identity and event indexes, and checkpointing after every chunk wrote the same pages again
# and again, at random places; the longer the window, the more often a page is copied once.
# The WAL is as durable as before (synchronous=NORMAL, committed frames are kept).
SQLITE_MERGE_CHECKPOINT_PAGES = 524_288
SQLITE_DEFAULT_CHECKPOINT_PAGES = 1000


@contextmanager
def _sqlite_bulk_writes() -> Iterator[None]:
    """On SQLite, give this connection a 1 GB page cache and fewer, larger WAL checkpoints
    while the merges are written; afterwards the usual checkpointing resumes."""
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_MERGE_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            # the next commit checkpoints as usual
            cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_DEFAULT_CHECKPOINT_PAGES}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in kB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _survivors() -> dict[uuid.UUID, uuid.UUID]:
    """merged customer → the live customer it ended up in."""
    parent = dict(
        Customer.objects.filter(merged_into__isnull=False).values_list("id", "merged_into_id")
    )

    def final(cid: uuid.UUID) -> uuid.UUID:
        seen = 0
        while cid in parent and seen < 100:
            cid, seen = parent[cid], seen + 1
        return cid

    return {cid: final(cid) for cid in parent}


def _ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a < b else (b, a)


def apply(
    population: Population,
    pairs: pd.DataFrame,
    model: Model,
    run: LinkageRun,
    auto_threshold: float,
    outcome: Outcome,
) -> None:
    ids = population.ids
    survivors = _survivors()
    not_same: set[tuple[uuid.UUID, uuid.UUID]] = set()
    known: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for id_a, id_b, status in MatchReview.objects.values_list("customer_a", "customer_b", "status"):
        known.add(_ordered(id_a, id_b))
        if status == MatchReview.Status.NOT_SAME:
            not_same.add(_ordered(survivors.get(id_a, id_a), survivors.get(id_b, id_b)))

    auto = engine.auto_pairs(CUSTOMER_SPEC, pairs, auto_threshold)
    clusters = engine.connected_components(
        zip(auto["unique_id_l"], auto["unique_id_r"], strict=True)
    )
    members: dict[int, list[int]] = defaultdict(list)
    for node, root in clusters.items():
        members[root].append(node)
    best_edge: dict[int, float] = defaultdict(float)
    for a, b, p in zip(
        auto["unique_id_l"], auto["unique_id_r"], auto["match_probability"], strict=True
    ):
        best_edge[a] = max(best_edge[a], p)
        best_edge[b] = max(best_edge[b], p)

    merged_together: set[tuple[int, int]] = set()
    to_merge: list[list[int]] = []
    for group in members.values():
        customers = [ids[u - 1] for u in group]
        if any(
            _ordered(x, y) in not_same for i, x in enumerate(customers) for y in customers[i + 1 :]
        ):
            outcome.blocked_clusters += 1
            continue  # its pairs stay in `pairs` and are queued for review below
        to_merge.append(group)
    for merged in _merge_clusters(to_merge, ids, best_edge, run, outcome):
        for i, u in enumerate(merged):
            for v in merged[i + 1 :]:
                merged_together.add((min(u, v), max(u, v)))

    # A pair that involves a record merged just now is about its survivor.
    now_in = {m.absorbed_id: m.survivor_id for m in outcome.merges}
    reviews = []
    for row in pairs.itertuples(index=False):
        a, b = int(row.unique_id_l), int(row.unique_id_r)
        if (min(a, b), max(a, b)) in merged_together:
            continue
        x, y = ids[a - 1], ids[b - 1]
        x, y = now_in.get(x, x), now_in.get(y, y)
        if x == y:
            continue
        ca, cb = _ordered(x, y)
        if (ca, cb) in known or (ca, cb) in not_same:
            continue
        gammas = {c.name: int(getattr(row, f"gamma_{c.name}")) for c in CUSTOMER_SPEC.comparisons}
        levels = model.levels_from_gammas(gammas)
        known.add((ca, cb))
        reviews.append(
            MatchReview(
                customer_a_id=ca,
                customer_b_id=cb,
                score=float(row.match_probability),
                match_weight=float(row.match_weight),
                comparison=model.explain(levels),
                run=run,
            )
        )
    with transaction.atomic():
        MatchReview.objects.bulk_create(reviews, batch_size=1000, ignore_conflicts=True)
    outcome.reviews = len(reviews)


def _merge_clusters(
    groups: list[list[int]],
    ids: list[uuid.UUID],
    best_edge: dict[int, float],
    run: LinkageRun,
    outcome: Outcome,
) -> Iterator[list[int]]:
    """Merge each cluster into one survivor (`choose_survivor`; the others in unique-id order)
    with `merge_clusters`, MERGE_BATCH customers at a time; yields the unique ids that ended
    up together, per cluster."""
    from loxodon.customers.merging import StageTimes
    from loxodon.customers.services import choose_survivors, merge_clusters

    times = StageTimes()
    start = 0
    while start < len(groups):
        end, size = start, 0
        while end < len(groups) and (end == start or size + len(groups[end]) <= MERGE_BATCH):
            size += len(groups[end])
            end += 1
        part = [sorted(g) for g in groups[start:end]]
        start = end
        # what choosing survivors needs; merge_clusters re-reads every row under its lock
        survivor_rule = Customer.objects.only("id", "profile_verified", "created_at")
        times.start()
        by_id = survivor_rule.in_bulk([ids[u - 1] for g in part for u in g])
        uid_of = {ids[u - 1]: u for g in part for u in g}
        plans = choose_survivors([[by_id[ids[u - 1]] for u in g] for g in part])
        times.lap("choose survivors")
        result = merge_clusters(
            [
                (survivor, [(a, round(best_edge[uid_of[a.pk]], 6)) for a in absorbed])
                for survivor, absorbed in plans
            ],
            by=None,
            reason=f"linkage run {run.pk}",
            method=Merge.Method.AUTOMATIC,
            chunk_size=MERGE_CHUNK,
            times=times,
        )
        outcome.merges.extend(result.merges)
        outcome.skipped_merges.extend(f"{s.absorbed_id}: {s.reason}" for s in result.skipped)
        merged = {m.absorbed_id for m in result.merges}
        for survivor, absorbed in plans:
            yield [uid_of[survivor.pk], *(uid_of[a.pk] for a in absorbed if a.pk in merged)]
    # where the merging time went (seconds per stage, all chunks together)
    run.figures["merge_seconds"] = {k: round(v, 2) for k, v in times.seconds.items()}


def summary_rows(outcome: Outcome) -> Iterable[tuple[str, str]]:
    run = outcome.run
    seconds = run.figures.get("seconds", {})
    yield "scope", run.scope
    yield "backend", run.backend
    yield "customers", f"{run.records:,}"
    if run.figures.get("trained"):
        model = "trained now"
    elif run.model_id:
        model = f"MatchModel {run.model_id}"
    else:
        model = "packaged default"
    yield "model", model
    yield "pairs scored ≥ review threshold", f"{run.pairs_scored:,}"
    if run.figures.get("dry_run"):
        yield "would merge (pairs)", f"{run.figures.get('would_merge_pairs', 0):,}"
        yield "would review (pairs)", f"{run.figures.get('would_review_pairs', 0):,}"
    else:
        yield "auto-merged", f"{run.auto_merged:,}"
        yield "queued for review", f"{run.queued_for_review:,}"
        yield "clusters held back (not the same person)", str(outcome.blocked_clusters)
        yield "merges skipped (conflicts)", str(len(outcome.skipped_merges))
    for stage, value in seconds.items():
        yield f"time: {stage.removesuffix('_s')}", f"{value:.1f} s"
    yield "peak memory", f"{run.figures.get('peak_rss_mb', 0):,.0f} MB"
