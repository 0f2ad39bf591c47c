"""Ranking metrics: does the model find the articles the oracle scores highest?

MAE alone hides a model that predicts the average for everything and never surfaces the rare
high-scorers. Articles are ranked by a single relevance number (the filter's weighted average of
the dimension scores): the oracle's ranking is the reference, the model's ranking is judged.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

DEFAULT_K = (10, 25, 50)


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


def ranking_metrics(pred_scores: np.ndarray, gold_scores: np.ndarray, weights: Sequence[float],
                    ks: Sequence[int] = DEFAULT_K) -> dict[str, Any]:
    """Recall@k and NDCG@k on the weighted-average relevance of every article.

    ``ks`` larger than the number of articles are clipped to it (and listed once)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    predicted = np.asarray(pred_scores, dtype=np.float64) @ weights / weights.sum()
    oracle = np.asarray(gold_scores, dtype=np.float64) @ weights / weights.sum()
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
