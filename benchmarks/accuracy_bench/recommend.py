"""The recommended model of a dataset: the lowest MAE on the fit articles (the rest of val, which picked
no checkpoint and no alpha) among students, baselines and ensembles. An ensemble's fit-split MAE is
cross-fitted: its weights are fitted with filterforge's own fit function on k-1 folds and predict the
held-out fold, so no candidate is scored on articles it was fitted on. The test split is read only to
report the recommended model against the best baseline, after the choice."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .results import MethodResult
from .scoring import paired_mae_ratio_interval
from .splits import Splits

MIN_FOLD_TRAIN = 2  # filterforge's fit needs at least 2 articles


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """k seeded folds of ``range(n)`` (fewer when n is small), each sorted."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(fold) for fold in np.array_split(order, min(k, n)) if len(fold)]


def cross_fitted(member_scores: np.ndarray, gold: np.ndarray, members: Sequence[str], dimension_names: Sequence[str],
                 k: int, seed: int, method: str = "stack") -> tuple[np.ndarray, list[np.ndarray]] | None:
    """Out-of-fold ensemble predictions ``[n, d]`` of ``member_scores[m, n, d]`` and each fold's weights
    ``[d, m]``; None when the fit split is too small to hold a fold out."""
    from filterforge.ensembles.fit import fit_combination

    scores, gold = np.asarray(member_scores, dtype=np.float64), np.asarray(gold, dtype=np.float64)
    n = gold.shape[0]
    if n < MIN_FOLD_TRAIN + 1:
        return None
    out = np.zeros_like(gold)
    weights = []
    for held in folds(n, k, seed):
        train = np.setdiff1d(np.arange(n), held)
        combination = fit_combination(method, scores[:, train], gold[train], members, dimension_names)
        out[held] = combination.combine(scores[:, held])
        weights.append(combination.weights)
    return out, weights


def candidates(results: Sequence[MethodResult]) -> list[MethodResult]:
    return [r for r in results if r.ok and r.fit_mae is not None]


def recommend(results: Sequence[MethodResult]) -> MethodResult | None:
    """The candidate with the lowest fit-split MAE (the first listed on a tie)."""
    found = candidates(results)
    return min(found, key=lambda r: r.fit_mae) if found else None


def best_baseline_on_test(results: Sequence[MethodResult]) -> MethodResult | None:
    baselines = [r for r in results if r.ok and r.kind == "baseline"]
    return min(baselines, key=lambda r: r.test["mae"]) if baselines else None


def comparison(chosen: MethodResult, other: MethodResult, splits: Splits, seed: int) -> dict[str, Any]:
    """Test MAE ratio chosen / other with its 95 % paired bootstrap interval."""
    ratio = chosen.test["mae"] / other.test["mae"]
    interval = [1.0, 1.0] if chosen is other else \
        paired_mae_ratio_interval(chosen.predictions, other.predictions, splits.labels("test"), seed)
    return {"key": other.key, "label": other.label, "test_mae": other.test["mae"], "ratio": ratio,
            "ratio_ci95": interval, "worse": chosen.test["mae"] > other.test["mae"]}


def recommendation_json(results: Sequence[MethodResult], splits: Splits, seed: int) -> dict[str, Any] | None:
    chosen = recommend(results)
    if chosen is None:
        return None
    best_baseline = best_baseline_on_test(results)
    return {
        "key": chosen.key, "label": chosen.label, "kind": chosen.kind, "fit_mae": chosen.fit_mae,
        "fit_articles": len(splits.fit), "selection_articles": len(splits.selection),
        "candidates": {r.key: r.fit_mae for r in sorted(candidates(results), key=lambda r: r.fit_mae)},
        "test_mae": chosen.test["mae"], "test_mae_ci95": chosen.test["mae_ci95"],
        "mean_predictor_test_mae": chosen.test["mean_predictor_mae"],
        "vs_best_baseline": comparison(chosen, best_baseline, splits, seed) if best_baseline else None,
    }
