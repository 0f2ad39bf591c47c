"""Regression metrics. Every MAE is reported beside the mean predictor's MAE on the same split."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


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
