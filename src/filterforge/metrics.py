"""Every metric filterforge reports, in one place.

Each MAE is reported beside the mean predictor's MAE on the same split. Ranking metrics judge
whether the model finds the articles the oracle scores highest: articles are ranked by the filter's
weighted average of the dimension scores, the oracle's ranking is the reference. Bootstrap intervals
resample articles, paired when two models are compared on the same articles.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

DEFAULT_K = (10, 25, 50)
BOOTSTRAP_SAMPLES = 1000


def regression_metrics(pred: np.ndarray, gold: np.ndarray, dimension_names: Sequence[str],
                       train_means: Sequence[float] | None = None) -> dict[str, Any]:
    pred = np.asarray(pred, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float64)
    err = pred - gold
    result: dict[str, Any] = {
        "n": int(gold.shape[0]),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "per_dimension_mae": {name: float(v) for name, v in zip(dimension_names, np.abs(err).mean(0))},
        "per_dimension_rmse": {name: float(v) for name, v in zip(dimension_names, np.sqrt((err**2).mean(0)))},
    }
    if train_means is not None:
        baseline = np.abs(np.asarray(train_means)[None, :] - gold)
        result["mean_predictor_mae"] = float(baseline.mean())
        result["mean_predictor_per_dimension_mae"] = {name: float(v) for name, v in zip(dimension_names, baseline.mean(0))}
    return result


def spearman_by_dimension(pred: Any, gold: Any, names: Sequence[str]) -> dict[str, float | None]:
    """Spearman's rho per dimension; None where either side is constant (undefined)."""
    from scipy.stats import spearmanr

    result: dict[str, float | None] = {}
    for index, name in enumerate(names):
        p, g = np.asarray(pred)[:, index], np.asarray(gold)[:, index]
        if len(p) < 2 or np.ptp(p) == 0 or np.ptp(g) == 0:
            result[name] = None
            continue
        value = float(spearmanr(p, g).statistic)
        result[name] = None if math.isnan(value) else round(value, 4)
    return result


def mean_of_defined(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return round(sum(defined) / len(defined), 4) if defined else None


def _tiers_of(scores: Any, spec: Any) -> list:
    return [spec.tier(row) for row in np.asarray(scores).tolist()]


def _agreement(oracle: Sequence[Any], predicted: Sequence[Any]) -> float:
    return sum(o == p for o, p in zip(oracle, predicted)) / len(oracle)


def tier_accuracy(pred: Any, gold: Any, spec: Any) -> float | None:
    """Share of articles whose tier from the predicted scores equals the tier from the oracle's scores
    (unrounded); None for a filter with fewer than two tiers, where every article shares the tier."""
    if len(spec.tiers) < 2 or len(gold) == 0:
        return None
    return _agreement(_tiers_of(gold, spec), _tiers_of(pred, spec))


def tier_metrics(pred: Any, gold: Any, spec: Any) -> tuple[dict[str, Any] | None, list, list]:
    """Tier accuracy and confusion matrix (rows: oracle tier, columns: predicted tier), plus both tier lists;
    None instead of the metrics for a filter with fewer than two tiers (an accuracy of 1 that means nothing)."""
    oracle = _tiers_of(gold, spec)
    predicted = _tiers_of(pred, spec)
    if len(spec.tiers) < 2:
        return None, oracle, predicted
    labels = spec.tier_names
    index = {name: i for i, name in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for o, p in zip(oracle, predicted):
        matrix[index[o]][index[p]] += 1
    return {"accuracy": round(_agreement(oracle, predicted), 4), "labels": labels, "confusion_matrix": matrix,
            "rows": "oracle tier", "columns": "predicted tier"}, oracle, predicted


def recorded_tier_accuracy(tiers: dict[str, Any] | None) -> float | None:
    """The accuracy of an evaluation.json ``tiers`` entry, None unless it has two tiers or more (evaluations
    written before this rule recorded a single tier's accuracy of 1)."""
    if not tiers or len(tiers.get("labels") or []) < 2:
        return None
    return tiers.get("accuracy")


def split_metrics(pred: Any, gold: Any, spec: Any, means: Sequence[float]) -> dict[str, Any]:
    """Regression metrics with Spearman per dimension and its mean: what `evaluate` reports for a split."""
    names = spec.dimension_names
    metrics = regression_metrics(pred, gold, names, means)
    per_dim = spearman_by_dimension(pred, gold, names)
    metrics["per_dimension_spearman"] = per_dim
    metrics["spearman"] = mean_of_defined(list(per_dim.values()))
    return metrics


# -- ranking ---------------------------------------------------------------------------------

def _order(values: np.ndarray) -> np.ndarray:
    """Indices from highest to lowest; ties keep input order (stable) so results are reproducible."""
    return np.argsort(-values, kind="stable")


def recall_at_k(predicted: np.ndarray, oracle: np.ndarray, k: int) -> float:
    """Share of the oracle's top-k articles that appear in the model's top k.

    Articles tied with the oracle's k-th score all count as relevant, so the result does not depend
    on how ties happen to be ordered; the denominator stays k."""
    k = min(k, len(oracle))
    if k == 0:
        return float("nan")
    threshold = np.sort(oracle)[::-1][k - 1]
    relevant = oracle >= threshold
    found = relevant[_order(predicted)[:k]].sum()
    return float(min(found, k) / k)


def ndcg_at_k(predicted: np.ndarray, oracle: np.ndarray, k: int) -> float:
    """Normalised discounted cumulative gain with the oracle score as the (linear) gain."""
    k = min(k, len(oracle))
    if k == 0:
        return float("nan")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.clip(oracle, 0.0, None)
    dcg = float((gains[_order(predicted)[:k]] * discounts).sum())
    ideal = float((np.sort(gains)[::-1][:k] * discounts).sum())
    return dcg / ideal if ideal > 0 else float("nan")


def weighted_relevance(scores: Any, weights: Sequence[float]) -> np.ndarray:
    """One relevance number per article: the weighted average of its dimension scores."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    return np.asarray(scores, dtype=np.float64) @ weights / weights.sum()


def ranking_metrics(pred_scores: np.ndarray, gold_scores: np.ndarray, weights: Sequence[float],
                    ks: Sequence[int] = DEFAULT_K) -> dict[str, Any]:
    """Recall@k and NDCG@k on the weighted-average relevance of every article.

    ``ks`` larger than the number of articles are clipped to it (and listed once)."""
    predicted = weighted_relevance(pred_scores, weights)
    oracle = weighted_relevance(gold_scores, weights)
    n = len(oracle)
    used = sorted({min(int(k), n) for k in ks if int(k) > 0 and n > 0})
    return {
        "relevance": "weighted average of the dimension scores (filter weights)",
        "k": used,
        "recall@k": {str(k): _finite(recall_at_k(predicted, oracle, k)) for k in used},
        "ndcg@k": {str(k): _finite(ndcg_at_k(predicted, oracle, k)) for k in used},
    }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


# -- uncertainty -----------------------------------------------------------------------------

def per_article_errors(pred: Any, gold: Any) -> np.ndarray:
    """Mean absolute error of each article over its dimensions (what the bootstraps resample)."""
    return np.abs(np.asarray(pred, dtype=np.float64) - np.asarray(gold, dtype=np.float64)).mean(1)


def bootstrap_mae_interval(errors: np.ndarray, seed: int, samples: int = BOOTSTRAP_SAMPLES) -> list[float]:
    """95 % interval of the MAE over resampled articles (``errors``: per-article errors)."""
    rng = np.random.default_rng(seed)
    means = errors[rng.integers(0, len(errors), (samples, len(errors)))].mean(1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def paired_ratio_interval(errors_a: np.ndarray, errors_b: np.ndarray, seed: int,
                          samples: int = BOOTSTRAP_SAMPLES) -> list[float]:
    """95 % interval of MAE(a) / MAE(b), the same resampled articles for both."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(errors_a), (samples, len(errors_a)))
    ratios = errors_a[index].mean(1) / np.maximum(errors_b[index].mean(1), 1e-12)
    return [float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))]
