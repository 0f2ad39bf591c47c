"""Test-set scores of one method, built from filterforge.metrics.

The benchmark's own conventions on top of the library: predictions are clipped to the 0-10 score
range, Recall@k takes the top ``TOP_SHARE`` of test articles, and filters with several tiers report
tier accuracy instead of recall.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import BOOTSTRAP_SAMPLES, TOP_SHARE

SCORE_RANGE = (0.0, 10.0)


def clip_scores(pred: Any, gold: np.ndarray) -> np.ndarray:
    """Predictions as [n, dims] within the score range (ridge returns 1-D for a single-dimension filter)."""
    return np.clip(np.asarray(pred, dtype=np.float64).reshape(gold.shape), *SCORE_RANGE)


def clipped_mae(pred: Any, gold: np.ndarray) -> float:
    return float(np.abs(clip_scores(pred, gold) - gold).mean())


def mean_spearman(pred: np.ndarray, gold: np.ndarray) -> float | None:
    """Mean over dimensions of Spearman's rho; dimensions where either side is constant are left out."""
    from filterforge.metrics import mean_of_defined, spearman_by_dimension

    columns = [str(index) for index in range(gold.shape[1])]
    return mean_of_defined(list(spearman_by_dimension(pred, gold, columns).values()))


def recall_at_top(pred: np.ndarray, gold: np.ndarray, spec: Any, share: float = TOP_SHARE) -> dict[str, Any]:
    """Share of the oracle's top-k articles (weighted average) that are also the prediction's top k."""
    from filterforge.metrics import recall_at_k, weighted_relevance

    n = len(gold)
    k = max(1, round(share * n))
    predicted = weighted_relevance(pred, spec.weights)
    if np.ptp(predicted) == 0:  # a constant ranking picks k articles at random
        return {"k": k, "recall": k / n, "note": "constant prediction: expected recall of a random pick"}
    return {"k": k, "recall": recall_at_k(predicted, weighted_relevance(gold, spec.weights), k)}


def tier_accuracy(pred: np.ndarray, gold: np.ndarray, spec: Any) -> float | None:
    from filterforge.metrics import tier_accuracy as library_tier_accuracy

    return library_tier_accuracy(pred, gold, spec)


def has_tiers(spec: Any) -> bool:
    """A single default tier ranks nothing: such filters are judged by recall instead."""
    return spec.has_several_tiers


def score_predictions(pred: Any, gold: np.ndarray, spec: Any, train_means: np.ndarray, seed: int) -> dict[str, Any]:
    from filterforge.metrics import bootstrap_mae_interval, per_article_errors, regression_metrics

    pred = clip_scores(pred, gold)
    metrics = regression_metrics(pred, gold, spec.dimension_names, train_means.tolist())
    metrics["spearman"] = mean_spearman(pred, gold)
    metrics["mae_ci95"] = bootstrap_mae_interval(per_article_errors(pred, gold), seed, BOOTSTRAP_SAMPLES)
    if has_tiers(spec):
        metrics["tier_accuracy"] = tier_accuracy(pred, gold, spec)
    else:
        metrics["recall_at_top"] = recall_at_top(pred, gold, spec)
    return metrics


def paired_mae_ratio_interval(pred_a: np.ndarray, pred_b: np.ndarray, gold: np.ndarray, seed: int) -> list[float]:
    """95 % interval of MAE(a) / MAE(b) over the same resampled test articles."""
    from filterforge.metrics import paired_ratio_interval, per_article_errors

    return paired_ratio_interval(per_article_errors(pred_a, gold), per_article_errors(pred_b, gold), seed,
                                 BOOTSTRAP_SAMPLES)
