"""`baseline`: fit a baseline on a prepared data folder and write it as a run folder (``model/``,
``training_metadata.json``, ``training_history.json``) that evaluate, compare, calibrate, score, deploy
and bench open like a student's run. Hyper-parameters are chosen on the validation split only."""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.runs import layout

logger = logging.getLogger(__name__)
PROBE_MODEL = "minilm"


@dataclass
class BaselineSettings:
    filter_id: str
    data_dir: str
    output_dir: str
    method: str = "tfidf-ridge"
    model: str = PROBE_MODEL  # the frozen encoder of the embedding probe
    strategy: str | None = None  # the embedding probe's input strategy (a registered name)
    seed: int = 42
    overwrite: bool = False


@dataclass
class Fitted:
    """What a method returns: a save function for the model folder, val predictions, and its report."""

    save: Any
    val_pred: np.ndarray
    report: dict[str, Any]
    token_budget: dict[str, Any]
    model_name: str


def word_budget(rows: list[dict]) -> dict[str, Any]:
    from filterforge.encoding.strategies import article_text

    words = [len(article_text(r).split()) for r in rows] or [0]
    return {"prompt_tokens": 0, "articles": len(rows), "unit": "words (the whole article is read)",
            "article_tokens_kept_mean": round(statistics.fmean(words), 2), "article_tokens_kept_median": statistics.median(words),
            "article_tokens_kept_min": min(words), "article_tokens_kept_max": max(words), "share_truncated": 0.0}


def fit_text_model(method: str, train: list[dict], val: list[dict], spec: Any) -> Fitted:
    from filterforge.baselines.mean import MeanPredictor
    from filterforge.baselines.tfidf import TfidfRidge
    from filterforge.encoding.strategies import article_text

    y_train = np.asarray([r["labels"] for r in train], dtype=np.float64)
    y_val = np.asarray([r["labels"] for r in val], dtype=np.float64)
    texts = lambda rows: [article_text(r) for r in rows]  # noqa: E731
    if method == "mean":
        model, report = MeanPredictor.fit(y_train), {"means": y_train.mean(0).round(4).tolist()}
    else:
        model, report = TfidfRidge.fit(texts(train), y_train, texts(val), y_val, [d.scale for d in spec.dimensions])
    return Fitted(model.save, model.predict(texts(val)), report, word_budget(train + val), method)


def fit_probe_model(settings: BaselineSettings, train: list[dict], val: list[dict], spec: Any, info: dict) -> Fitted:
    from filterforge.baselines.probe import fit_probe
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.plugins.manager import get_strategies, lookup
    from filterforge.student.sources import load_tokenizer, resolve_model

    if not settings.strategy:
        raise FilterforgeError("the embedding probe needs an input strategy (--strategy)")
    model_path = resolve_model(settings.model)
    tokenizer = load_tokenizer(model_path)
    strategy_name = settings.strategy
    strategy = lookup("strategy", strategy_name, get_strategies())(spec, tokenizer)
    model, report, val_pred = fit_probe(model_path, strategy, train, val, {**info, "strategy": strategy_name,
                                                                           "strategy_options": {}, "base_model": settings.model,
                                                                           "lora": None})
    encoded = [strategy.encode(r, report["max_length"]) for r in train + val]

    def save(folder: Path) -> None:
        model.save_pretrained(folder, tokenizer)

    return Fitted(save, val_pred, report, budget_statistics(encoded, strategy.fixed_tokens), settings.model)


def write_model(output: Path, spec: Any, fitted: Fitted, info: dict[str, Any], text_model: bool) -> None:
    from filterforge.io import write_json
    from filterforge.runs.run import publish_model_dir

    staging = output / f".{layout.MODEL_DIR}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    fitted.save(staging)
    if text_model:
        write_json(staging / layout.MODEL_INFO, info)
    publish_model_dir(staging, output, spec.package_files())


def fit_baseline(settings: BaselineSettings) -> dict[str, Any]:
    from filterforge.baselines.models import METHODS, TEXT_MODELS
    from filterforge.data.splits import data_hash, load_split, split_file
    from filterforge.metrics import regression_metrics
    from filterforge.filters.spec import resolve_filter
    from filterforge.io import ensure_empty_dir, write_json
    from filterforge.provenance import provenance

    if settings.method not in METHODS:
        raise FilterforgeError(f"unknown baseline method '{settings.method}' (known: {', '.join(METHODS)})")
    started = time.time()
    spec = resolve_filter(settings.filter_id)
    data_dir = Path(settings.data_dir)
    train, val = load_split(split_file(data_dir, "train"), spec), load_split(split_file(data_dir, "val"), spec)
    output = ensure_empty_dir(settings.output_dir, settings.overwrite)
    info = {"filter": spec.id, "filter_name": spec.name, "filter_version": spec.version,
            "dimension_names": spec.dimension_names}
    text_model = settings.method in TEXT_MODELS
    if text_model:
        info.update(format=layout.BASELINE_FORMAT, method=settings.method)
        fitted = fit_text_model(settings.method, train, val, spec)
    else:
        fitted = fit_probe_model(settings, train, val, spec, info)
    seconds = time.time() - started
    low, high = np.asarray([d.scale for d in spec.dimensions]).T
    means = np.asarray([r["labels"] for r in train], dtype=np.float64).mean(0).tolist()
    gold = np.asarray([r["labels"] for r in val], dtype=np.float64)
    val_metrics = regression_metrics(np.clip(fitted.val_pred, low, high), gold, spec.dimension_names, means)
    output.mkdir(parents=True, exist_ok=True)
    write_model(output, spec, fitted, info, text_model)
    history = [{"epoch": 1, "train_loss": None, "val_mae": val_metrics["mae"], "val_rmse": val_metrics["rmse"],
                "val_mean_predictor_mae": val_metrics["mean_predictor_mae"],
                "val_per_dimension_mae": val_metrics["per_dimension_mae"], "global_step": 0}]
    metadata = {
        **info, "num_dimensions": len(spec.dimensions), "strategy": settings.method, "include_prompt": False,
        "model_name": fitted.model_name, "training_mode": "baseline", "baseline": fitted.report,
        "train_examples": len(train), "val_examples": len(val), "best_val_mae": val_metrics["mae"], "best_epoch": 1,
        "val_mean_predictor_mae": val_metrics["mean_predictor_mae"], "train_label_means": means,
        "seed": settings.seed, "data_dir": str(data_dir), "data_hash": data_hash(data_dir),
        "train_seconds": round(seconds, 2), "wall_time_seconds": round(seconds, 2), "token_budget": fitted.token_budget,
        "device": "cpu", "precision": "fp32", **provenance(),
    }
    write_json(output / layout.TRAINING_HISTORY, history)
    write_json(output / layout.TRAINING_METADATA, metadata)
    logger.info(f"baseline {settings.method} for {spec.id}: val MAE {val_metrics['mae']:.4f} vs mean predictor "
                f"{val_metrics['mean_predictor_mae']:.4f} ({len(train)} train / {len(val)} val articles, "
                f"{seconds:.1f} s); wrote {output}")
    return metadata
