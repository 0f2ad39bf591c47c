"""Plots written beside the JSON outputs (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss_curves(history: Sequence[dict], path: str | Path) -> None:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [h["epoch"] for h in history]
    left.plot(epochs, [h.get("train_loss") for h in history], marker="o", label="train loss")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.legend()
    right.plot(epochs, [h["val_mae"] for h in history], marker="o", label="val MAE")
    right.plot(epochs, [h["val_mean_predictor_mae"] for h in history], linestyle="--", label="mean predictor (val)")
    right.set_xlabel("epoch")
    right.set_ylabel("MAE")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_per_dimension_mae(names: Sequence[str], model_mae: Sequence[float], baseline_mae: Sequence[float],
                           path: str | Path, title: str = "") -> None:
    """Per-dimension MAE of the model beside the mean predictor's on the same split."""
    import numpy as np

    plt = _pyplot()
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4.5))
    ax.bar(x - 0.2, model_mae, width=0.4, label="model")
    ax.bar(x + 0.2, baseline_mae, width=0.4, label="mean predictor", alpha=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("MAE (0-10 scale)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_pred_vs_oracle(pred, gold, names: Sequence[str], path: str | Path, title: str = "") -> None:
    """One scatter per dimension: oracle score (x) against predicted score (y), diagonal for reference."""
    import math

    import numpy as np

    plt = _pyplot()
    pred, gold = np.asarray(pred), np.asarray(gold)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.axis("off")
            continue
        ax.scatter(gold[:, index], pred[:, index], s=10, alpha=0.6)
        ax.plot([0, 10], [0, 10], linestyle="--", color="grey", linewidth=0.8)
        ax.set_xlim(-0.3, 10.3)
        ax.set_ylim(-0.3, 10.3)
        ax.set_title(names[index], fontsize=8)
        ax.set_xlabel("oracle", fontsize=7)
        ax.set_ylabel("predicted", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_mode_comparison(runs: Sequence[str], test_mae: Sequence[float | None], baseline_mae: Sequence[float | None],
                         names: Sequence[str], per_dimension: Sequence[Sequence[float | None]],
                         ms_per_article: Sequence[float | None], path: str | Path) -> None:
    """`compare`: overall MAE beside the mean predictor, per-dimension MAE, and inference speed per run."""
    import numpy as np

    plt = _pyplot()
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1, 2.4, 1]})
    x = np.arange(len(runs))
    nan = lambda values: [np.nan if v is None else v for v in values]  # noqa: E731
    left.bar(x - 0.2, nan(test_mae), width=0.4, label="model")
    left.bar(x + 0.2, nan(baseline_mae), width=0.4, alpha=0.6, label="mean predictor")
    left.set_xticks(x)
    left.set_xticklabels(runs, rotation=30, ha="right", fontsize=8)
    left.set_ylabel("MAE")
    left.set_title("MAE (test, else validation)", fontsize=10)
    left.legend(fontsize=8)
    dims = np.arange(len(names))
    width = 0.8 / max(len(runs), 1)
    for i, (run, values) in enumerate(zip(runs, per_dimension)):
        middle.bar(dims + (i - (len(runs) - 1) / 2) * width, nan(values), width=width, label=run)
    middle.set_xticks(dims)
    middle.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    middle.set_title("per-dimension MAE", fontsize=10)
    middle.legend(fontsize=8)
    right.bar(x, nan(ms_per_article), color="tab:green")
    right.set_xticks(x)
    right.set_xticklabels(runs, rotation=30, ha="right", fontsize=8)
    right.set_ylabel("ms / article")
    right.set_title("inference speed", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
