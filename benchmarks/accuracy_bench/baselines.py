"""What users would pick instead of a student, as they get it: filterforge's own ``baseline`` run folders
(the mean predictor, TF-IDF + ridge, the frozen-MiniLM embedding probe) fitted on the model data (train;
alpha chosen on the selection articles), then scored through ``Scorer`` like any run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from . import pipeline
from .results import MethodResult
from .scoring import clipped_mae, score_predictions
from .splits import Splits

MEAN_KEY, TFIDF_KEY, PROBE_KEY = "mean", "tfidf-ridge", "minilm-probe"
LABELS = {MEAN_KEY: "mean predictor (train mean per dimension)", TFIDF_KEY: "TF-IDF + ridge",
          PROBE_KEY: "frozen MiniLM embeddings + ridge"}
METHODS = {MEAN_KEY: "mean", TFIDF_KEY: "tfidf-ridge", PROBE_KEY: "embedding-probe"}
TOKEN_NOTES = {MEAN_KEY: "no input", TFIDF_KEY: "whole article (no truncation)"}
PRODUCT_NOTE = (
    "Baselines are filterforge's own `baseline` runs, scored through `Scorer` like any run. They differ from the "
    "benchmark's earlier private versions: one ridge alpha per dimension chosen on the selection articles, from the "
    "product's grids (TF-IDF {tfidf}; probe {probe}); TF-IDF has the same features (word 1-2 + char 3-5 grams, "
    "50000 each); the probe pools MiniLM's tokens by mean without L2-normalising and cuts at 256 tokens.")


def product_note() -> str:
    from filterforge.baselines.probe import ALPHAS as PROBE_ALPHAS
    from filterforge.baselines.tfidf import ALPHAS as TFIDF_ALPHAS

    grid = lambda alphas: f"{min(alphas):g}-{max(alphas):g}, {len(alphas)} values"  # noqa: E731
    return PRODUCT_NOTE.format(tfidf=grid(TFIDF_ALPHAS), probe=grid(PROBE_ALPHAS))


def alpha_note(report: dict[str, Any], dimension_names: list[str], selection_articles: int) -> str:
    """``alpha 1 (x5), 3 (x3) chosen on 200 val articles (2 at the edge of the grid)``."""
    alphas = report.get("alphas")
    if not alphas:
        return ""
    counts = Counter(alphas)
    chosen = ", ".join(f"{a:g}" + (f" (x{n})" if len(dimension_names) > 1 else "") for a, n in sorted(counts.items()))
    edges = sum(report.get("alpha_at_grid_edge", []))
    edge = f" ({edges} at the edge of the grid)" if edges and len(dimension_names) > 1 else \
        (" (at the edge of the grid)" if edges else "")
    return f"alpha {chosen} chosen on {selection_articles} val articles{edge}"


def baseline_settings(key: str, metadata: dict[str, Any], run_dir: Path, data_dir: Path,
                      names: list[str]) -> dict[str, Any]:
    report = metadata.get("baseline") or {}
    settings: dict[str, Any] = {"method": metadata.get("strategy"), "run_dir": str(run_dir), "data_dir": str(data_dir),
                                "train_examples": metadata["train_examples"], "val_examples": metadata["val_examples"],
                                "data_hash": metadata["data_hash"]}
    if "alphas" in report:
        settings.update(alpha=dict(zip(names, report["alphas"])), alpha_grid=report["alpha_grid"],
                        val_mae_by_alpha=report["val_mae_by_alpha"])
    for key in ("features", "max_length"):
        if key in report:
            settings[key] = report[key]
    if key == PROBE_KEY:
        settings["model"] = metadata.get("model_name")
    return settings


def fit_baseline(key: str, splits: Splits, data_dir: Path, run_dir: Path, encoder_model: str, seed: int, threads: int,
                 label: str | None = None) -> MethodResult:
    """Fit ``filterforge baseline`` into ``run_dir``, score test (and the fit articles) through its Scorer."""
    names = splits.spec.dimension_names
    metadata = pipeline.fit_baseline_run(splits.spec.id, METHODS[key], data_dir, run_dir, encoder_model, seed)
    scored = pipeline.score_run(run_dir, {"test": splits.test, "fit": splits.fit}, threads)
    test = scored["test"]
    tokens = {"note": TOKEN_NOTES[key]} if key in TOKEN_NOTES else {**test.tokens, "max_length": metadata["baseline"].get("max_length")}
    result = MethodResult(key, label or LABELS[key], "baseline", train_seconds=metadata["train_seconds"],
                          ms_per_article=test.ms_per_article, tokens=tokens,
                          note=alpha_note(metadata.get("baseline") or {}, names, metadata["val_examples"]),
                          settings=baseline_settings(key, metadata, run_dir, data_dir, names))
    result.test = score_predictions(test.predictions, splits.labels("test"), splits.spec,
                                    np.asarray(metadata["train_label_means"]), seed)
    result.predictions = test.predictions
    result.val_mae_first_n = metadata["best_val_mae"]  # the run's val.jsonl holds exactly the selection articles
    if "fit" in scored:
        result.fit_predictions = scored["fit"].predictions
        result.fit_mae = clipped_mae(result.fit_predictions, splits.labels("fit"))
    result.settings["_truncated_mask"] = test.truncated
    return result
