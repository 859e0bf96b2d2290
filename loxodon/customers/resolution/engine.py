"""The batch linkage engine: prepared records in, scored pairs and clusters out (Splink).

Pure data in and out (pandas), no Django: `linkage.py` feeds it customers from the database
and applies the outcome; the accuracy benchmark feeds it generated or FEBRL records.

Training is unsupervised: the prior from deterministic rules, u by random sampling, m by
expectation maximisation on the spec's training blocking rules. The trained model is Splink's
own settings JSON (comparisons with m/u), which real-time resolution scores with too.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from loxodon.customers.resolution.spec import PERSON, Spec, blocking_columns

if TYPE_CHECKING:
    from splink import Linker

Backend = Literal["duckdb", "spark"]
Progress = Callable[[str], None]


class BackendUnavailable(RuntimeError):
    """The requested Splink backend's dependencies are not installed."""


@dataclass
class EngineResult:
    pairs: pd.DataFrame  # unique_id_l < unique_id_r, match_probability, match_weight, gamma_*
    clusters: dict[int, int]  # unique_id → cluster id, for records in an auto cluster (≥ 2)
    model: dict[str, Any]
    trained: bool
    timings: dict[str, float] = field(default_factory=dict)


def prepare_frame(spec: Spec, raw: pd.DataFrame | dict[str, Sequence[Any]]) -> pd.DataFrame:
    """Raw columns (and `unique_id`) → the columns the spec compares and blocks on."""
    columns = raw if isinstance(raw, dict) else {c: raw[c].tolist() for c in raw.columns}
    prepared: dict[str, Any] = spec.prepare_columns(columns)
    blocking_columns(spec, prepared)
    prepared["unique_id"] = list(columns["unique_id"])
    return pd.DataFrame(prepared)


def _blocking_rule(rule: tuple[str, ...] | str) -> Any:
    from splink import block_on

    if isinstance(rule, str):
        return rule
    return block_on(*rule)


def _db_api(backend: Backend) -> Any:
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    try:
        from pyspark.sql import SparkSession
        from splink.internals.spark.database_api import SparkAPI
    except ImportError as exc:  # the optional extra is not installed
        raise BackendUnavailable(
            "the spark backend needs pyspark: pip install -e '.[spark]'"
        ) from exc
    # A local session unless SPARK_HOME / spark-defaults point somewhere else (a cluster).
    spark = SparkSession.builder.appName("loxodon-linkage").getOrCreate()
    spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="loxodon-spark-"))
    return SparkAPI(spark_session=spark)


def _register(db_api: Any, frame: pd.DataFrame, backend: Backend) -> Any:
    # Both backends take a pandas frame (Spark converts it with createDataFrame).
    return db_api.register(frame)


def train(linker: Linker, spec: Spec, *, n_records: int, seed: int = 42) -> None:
    linker.training.estimate_probability_two_random_records_match(
        [_blocking_rule(r) for r in spec.deterministic_rules], recall=spec.deterministic_recall
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(5e6, max(1e5, n_records * 20.0)), seed=seed
    )
    for rule in spec.training_blocking:
        linker.training.estimate_parameters_using_expectation_maximisation(
            _blocking_rule(rule), max_pairs=2e6, estimate_without_term_frequencies=True
        )


def trained_linker(
    spec: Spec, frame: pd.DataFrame, *, seed: int = 42, progress: Progress | None = None
) -> Linker:
    """A DuckDB linker over `frame`, trained from scratch (for the packaged default model)."""
    from splink import Linker

    linker = Linker(
        _register(_db_api("duckdb"), frame, "duckdb"),
        settings_for(spec, None, "duckdb"),
        log_level=logging.ERROR,
    )
    if progress:
        progress(f"training on {len(frame):,} records")
    train(linker, spec, n_records=len(frame), seed=seed)
    return linker


def settings_for(
    spec: Spec, model: dict[str, Any] | None, backend: Backend, link_type: str = "dedupe_only"
) -> dict[str, Any]:
    """The spec's Splink settings, with the trained m/u and prior of `model` when given."""
    settings = spec.splink_settings("spark" if backend == "spark" else "duckdb", link_type)
    if model is None:
        return settings
    settings["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    trained = {c["output_column_name"]: c for c in model["comparisons"]}
    for comparison in settings["comparisons"]:
        old = trained.get(comparison["output_column_name"])
        if old is None or len(old["comparison_levels"]) != len(comparison["comparison_levels"]):
            raise ValueError(
                f"the stored model does not fit comparison {comparison['output_column_name']}: "
                "retrain with --train"
            )
        for level, old_level in zip(
            comparison["comparison_levels"], old["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if key in old_level:
                    level[key] = old_level[key]
    return settings


def link(
    spec: Spec,
    frame: pd.DataFrame,
    *,
    model: dict[str, Any] | None,
    train_model: bool,
    review_threshold: float,
    auto_threshold: float,
    backend: Backend = "duckdb",
    seed: int = 42,
    progress: Progress | None = None,
    link_type: str = "dedupe_only",
) -> EngineResult:
    """Score all blocked pairs of `frame` (prepared) and cluster those above auto_threshold."""
    from splink import Linker

    say = progress or (lambda _message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    db_api = _db_api(backend)
    table = _register(db_api, frame, backend)
    must_train = train_model or model is None
    linker = Linker(
        table,
        settings_for(spec, None if must_train else model, backend, link_type),
        log_level=logging.ERROR,
    )
    timings["load_s"] = time.perf_counter() - started

    if must_train:
        say(f"training on {len(frame):,} records (u by sampling, m by EM)")
        t = time.perf_counter()
        train(linker, spec, n_records=len(frame), seed=seed)
        timings["train_s"] = time.perf_counter() - t
    trained_model = linker.misc.save_model_to_json()

    say("scoring blocked pairs")
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=review_threshold)
    wanted = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    wanted += [f"gamma_{c.name}" for c in spec.comparisons]
    pairs = predictions.as_pandas_dataframe()[wanted]
    timings["predict_s"] = time.perf_counter() - t

    say(f"clustering {len(pairs):,} pairs at {auto_threshold}")
    t = time.perf_counter()
    auto = auto_pairs(spec, pairs, auto_threshold)
    clusters = connected_components(zip(auto["unique_id_l"], auto["unique_id_r"], strict=True))
    timings["cluster_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    return EngineResult(
        pairs=pairs, clusters=clusters, model=trained_model, trained=must_train, timings=timings
    )


def auto_pairs(spec: Spec, pairs: pd.DataFrame, auto_threshold: float) -> pd.DataFrame:
    """Pairs sure enough to merge without a person: above the threshold and not vetoed."""
    keep = pairs["match_probability"] >= auto_threshold
    if spec.person_evidence:
        unknown = pd.Series(True, index=pairs.index)
        for name in spec.person_evidence:
            unknown &= pairs[f"gamma_{name}"] == -1
        for comparison, gamma in spec.lifting_gammas(PERSON):
            unknown &= pairs[f"gamma_{comparison}"] != gamma
        keep &= ~unknown
    for name, gammas in spec.vetoed_gammas().items():
        vetoed = pairs[f"gamma_{name}"].isin(sorted(gammas))
        for comparison, gamma in spec.lifting_gammas(name):
            vetoed &= pairs[f"gamma_{comparison}"] != gamma
        keep &= ~vetoed
    return pairs[keep]


def connected_components(edges: Any) -> dict[int, int]:
    """Union-find over (a, b) edges → {node: smallest node of its component}."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
        parent.setdefault(ra, ra)
        parent.setdefault(rb, rb)
    return {node: find(node) for node in parent}


def cluster_pairs(clusters: dict[int, int]) -> set[tuple[int, int]]:
    """All (smaller, larger) pairs implied by clusters (for precision/recall)."""
    members: dict[int, list[int]] = {}
    for node, root in clusters.items():
        members.setdefault(root, []).append(node)
    out: set[tuple[int, int]] = set()
    for group in members.values():
        group.sort()
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                out.add((a, b))
    return out
