"""Fellegi-Sunter scoring with the m/u probabilities Splink learnt in batch.

match weight = log2(prior odds) + Σ log2(m/u) of each comparison's level
probability  = 2^w / (1 + 2^w)

The model is Splink's saved settings JSON (`linker.misc.save_model_to_json()`), stored in
`MatchModel.settings` by `link_customers`. `load_active_model()` returns the newest active one,
else the packaged `default_model.json` (trained on generated records with the same spec, so
real-time resolution works before the first batch run). Loaded models are cached per process;
each call checks (one indexed query) whether a newer model exists.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loxodon.customers.resolution.spec import CUSTOMER_SPEC, Record, Spec

logger = logging.getLogger(__name__)
DEFAULT_MODEL_PATH = Path(__file__).with_name("default_model.json")
# Splink can estimate u = 0 for a level never seen among random pairs; keep weights finite.
MIN_PROBABILITY = 1e-9


@dataclass(frozen=True)
class Score:
    weight: float
    probability: float
    levels: tuple[int, ...]  # level position per comparison (spec order)


@dataclass(frozen=True)
class LevelWeight:
    label: str
    bayes_factor: float
    weight: float  # log2(bayes_factor)


class Model:
    """A trained model bound to a spec: level weights per comparison and the prior."""

    def __init__(self, spec: Spec, settings: dict[str, Any], source: str) -> None:
        self.spec = spec
        self.settings = settings
        self.source = source  # "packaged" or the MatchModel id
        prior = float(settings["probability_two_random_records_match"])
        if not 0 < prior < 1:
            raise ValueError(f"prior must be between 0 and 1, not {prior}")
        self.prior_weight = math.log2(prior / (1 - prior))
        trained = {c["output_column_name"]: c for c in settings["comparisons"]}
        self.levels: list[list[LevelWeight]] = []
        for comparison in spec.comparisons:
            stored = trained.get(comparison.name)
            if stored is None or len(stored["comparison_levels"]) != len(comparison.levels):
                raise ValueError(
                    f"model from {source} does not fit the '{comparison.name}' comparison "
                    "of the current spec: retrain with `loxodon link_customers --train`"
                )
            weights = []
            for level, stored_level in zip(
                comparison.levels, stored["comparison_levels"], strict=True
            ):
                m, u = stored_level.get("m_probability"), stored_level.get("u_probability")
                if level.is_null or m is None or u is None:
                    bf = 1.0
                else:
                    bf = max(float(m), MIN_PROBABILITY) / max(float(u), MIN_PROBABILITY)
                weights.append(LevelWeight(level.label, bf, math.log2(bf)))
            self.levels.append(weights)
        self._best = [max(w.weight for w in weights) for weights in self.levels]
        self._best_total = sum(self._best)
        names = [c.name for c in spec.comparisons]
        first = [names.index(n) for n in spec.score_order]
        self._order = first + [i for i in range(len(names)) if i not in first]

    def score_levels(self, levels: list[int] | tuple[int, ...]) -> Score:
        weight = self.prior_weight + sum(
            self.levels[i][index].weight for i, index in enumerate(levels)
        )
        return Score(weight=weight, probability=probability(weight), levels=tuple(levels))

    def score(self, left: Record, right: Record) -> Score:
        """Score two prepared records (see `Spec.prepare_record`)."""
        return self.score_levels(self.spec.level_indexes(left, right))

    def score_at_least(self, left: Record, right: Record, floor: float) -> Score | None:
        """The score, or None as soon as the pair provably cannot reach probability `floor`.

        Comparisons run in the spec's score order; after each, the weight so far plus the best
        weight every remaining comparison could add is an upper bound. Exact: a pair that is
        skipped would have scored below `floor`.
        """
        if floor <= 0:
            return self.score(left, right)
        floor_weight = math.log2(floor / (1 - floor)) if floor < 1 else math.inf
        comparisons = self.spec.comparisons
        levels = [0] * len(comparisons)
        weight = self.prior_weight + self._best_total
        for i in self._order:
            index = comparisons[i].level_index(left, right)
            levels[i] = index
            weight += self.levels[i][index].weight - self._best[i]
            if weight < floor_weight:
                return None
        return Score(weight=weight, probability=probability(weight), levels=tuple(levels))

    def explain(self, levels: tuple[int, ...] | list[int]) -> list[dict[str, Any]]:
        """Per comparison: field, level label and Bayes factor (for the review page)."""
        return [
            {
                "field": comparison.name,
                "level": self.levels[i][index].label,
                "bayes_factor": round(self.levels[i][index].bayes_factor, 4),
            }
            for i, (comparison, index) in enumerate(zip(self.spec.comparisons, levels, strict=True))
        ]

    def gammas(self, levels: tuple[int, ...] | list[int]) -> dict[str, int]:
        return {
            c.name: c.gamma(index) for c, index in zip(self.spec.comparisons, levels, strict=True)
        }

    def auto_merge_allowed(self, levels: tuple[int, ...] | list[int]) -> bool:
        return self.spec.auto_merge_allowed(self.gammas(levels))

    def levels_from_gammas(self, gammas: dict[str, int]) -> tuple[int, ...]:
        """Splink's gamma values → level positions (the inverse of Comparison.gamma)."""
        out = []
        for comparison in self.spec.comparisons:
            g = gammas[comparison.name]
            out.append(0 if g == -1 else len(comparison.levels) - 1 - g)
        return tuple(out)


def probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    odds = math.pow(2.0, weight)
    return odds / (1.0 + odds)


def packaged_model() -> Model:
    settings = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    return Model(CUSTOMER_SPEC, settings, source="packaged")


_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "model": None}


def load_active_model() -> Model:
    """The newest active MatchModel (cached per process), else the packaged default."""
    from django.db import connection

    from loxodon.customers.models import MatchModel

    # Raw SQL: this runs on every real-time resolution (uses matchmodel_active_idx).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {MatchModel._meta.db_table} WHERE active = %s "  # noqa: S608
            "ORDER BY created_at DESC LIMIT 1",
            [True],
        )
        row = cursor.fetchone()
    newest = uuid.UUID(str(row[0])) if row else None
    key = str(newest) if newest else "packaged"
    with _lock:
        if _cache["key"] == key and _cache["model"] is not None:
            cached: Model = _cache["model"]
            return cached
    model = packaged_model()
    if newest is not None:
        stored = MatchModel.objects.get(pk=newest)
        try:
            model = Model(CUSTOMER_SPEC, stored.settings, source=str(stored.pk))
        except (KeyError, TypeError, ValueError) as exc:
            # A model trained with an older spec: keep resolving with the packaged one.
            logger.warning("match model %s unusable (%s); using the packaged model", newest, exc)
    with _lock:
        _cache["key"], _cache["model"] = key, model
    return model


def clear_cache() -> None:
    with _lock:
        _cache["key"], _cache["model"] = None, None
