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
