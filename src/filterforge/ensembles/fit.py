"""Fitting an ensemble's combination on one split: per dimension, the convex combination of the members'
scores with the least squared error (``stack``), or the member with the lowest MAE (``select``); and the
report of which member each dimension leans on, beside every member's and the mean predictor's MAE (and,
for filters with tiers, every member's and the ensemble's tier accuracy: what users act on)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.runs.combination import Combination

# The constraint row's weight in the least-squares system: large enough that the weights sum to 1
# within about 1e-9 before they are renormalised, small enough to keep the system well conditioned.
SUM_TO_ONE_WEIGHT = 1e4


def convex_weights(scores: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise ``|scores @ w - gold|^2``; ``scores`` is [n, members]."""
    from scipy.optimize import nnls

    n, members = scores.shape
    scale = SUM_TO_ONE_WEIGHT * max(1.0, float(np.abs(scores).max(initial=0.0))) * np.sqrt(max(n, 1))
    system = np.vstack([scores, np.full((1, members), scale)])
    target = np.concatenate([gold, [scale]])
    weights, _ = nnls(system, target, maxiter=50 * members)
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return np.full(members, 1.0 / members)
    return weights / total


def lowest_mae_member(scores: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """One-hot weights on the member with the lowest MAE (the first one on a tie)."""
    maes = np.abs(scores - gold[:, None]).mean(0)
    weights = np.zeros(scores.shape[1])
    weights[int(np.argmin(maes))] = 1.0
    return weights


def fit_combination(method: str, member_scores: np.ndarray, gold: np.ndarray, members: Sequence[str],
                    dimension_names: Sequence[str]) -> Combination:
    """``member_scores[m, n, d]``: each member's (clamped) scores of the fit split's n articles."""
    scores = np.asarray(member_scores, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float64)
    if scores.ndim != 3 or scores.shape[1:] != gold.shape or scores.shape[0] != len(members):
        raise FilterforgeError(f"ensemble fit expects [{len(members)}, n, d] scores for [n, d] labels, "
                               f"got {scores.shape} and {gold.shape}")
    if gold.shape[0] < 2:
        raise FilterforgeError(f"the fit split has {gold.shape[0]} article(s); an ensemble needs at least 2 to fit on")
    fit_dimension = {"stack": convex_weights, "select": lowest_mae_member}.get(method)
    if fit_dimension is None:
        raise FilterforgeError(f"unknown ensemble method '{method}' (known: stack, select)")
    weights = [fit_dimension(scores[:, :, d].T, gold[:, d]) for d in range(gold.shape[1])]
    return Combination(method, members, dimension_names, np.asarray(weights))


def tier_accuracies(combination: Combination, scores: np.ndarray, combined: np.ndarray, gold: np.ndarray,
                    spec: Any) -> dict[str, float] | None:
    """Each member's and the ensemble's tier accuracy on the split given; None for a filter with one tier."""
    from filterforge.metrics import tier_accuracy

    if spec is None:
        return None
    accuracies = {m: tier_accuracy(scores[i], gold, spec) for i, m in enumerate(combination.members)}
    accuracies["ensemble"] = tier_accuracy(combined, gold, spec)
    if None in accuracies.values():
        return None
    return {name: round(float(value), 4) for name, value in accuracies.items()}


def leaning_report(combination: Combination, member_scores: np.ndarray, gold: np.ndarray,
                   train_means: Sequence[float], spec: Any = None) -> dict[str, Any]:
    """Per dimension: the weights, the member leaned on, and the MAE of each member, of the ensemble and
    of the mean predictor on the split given (the fit split); with ``spec``, the tier accuracies too."""
    scores = np.asarray(member_scores, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float64)
    combined = combination.combine(scores).astype(np.float64)
    member_mae = np.abs(scores - gold[None]).mean(1)  # [members, dims]
    ensemble_mae = np.abs(combined - gold).mean(0)
    mean_mae = np.abs(np.asarray(train_means, dtype=np.float64)[None, :] - gold).mean(0)
    leaned = combination.leaned_on()
    per_dimension = {}
    for d, name in enumerate(combination.dimension_names):
        per_dimension[name] = {
            "weights": {m: round(float(w), 6) for m, w in zip(combination.members, combination.weights[d])},
            "leans_on": leaned[name],
            "mae": {**{m: round(float(member_mae[i, d]), 4) for i, m in enumerate(combination.members)},
                    "ensemble": round(float(ensemble_mae[d]), 4), "mean_predictor": round(float(mean_mae[d]), 4)},
        }
    overall = {**{m: round(float(member_mae[i].mean()), 4) for i, m in enumerate(combination.members)},
               "ensemble": round(float(ensemble_mae.mean()), 4), "mean_predictor": round(float(mean_mae.mean()), 4)}
    return {"per_dimension": per_dimension, "mae": overall, "articles": int(gold.shape[0]),
            "tier_accuracy": tier_accuracies(combination, scores, combined, gold, spec)}
