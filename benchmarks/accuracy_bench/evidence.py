"""Evidence beside the scores: label noise between two oracles, truncation, article lengths, learning curves
(train share and epochs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import pipeline
from .results import MethodResult
from .scoring import clipped_mae
from .splits import Splits, oracle_scores, texts

OFFSET_NOTE = ("the offset-removed figure subtracts each dimension's mean difference (a constant bias a student "
               "trained on one oracle would not be blamed for)")


def oracle_noise_floor(splits: Splits, datasets_root: Path) -> dict[str, Any] | None:
    """MAE between the dataset's oracle and a second oracle on the articles both scored."""
    if not splits.config.alt_oracle:
        return None
    folder = datasets_root / splits.config.name
    alt_path = folder / splits.config.alt_oracle
    if not alt_path.exists():
        return None
    primary = dict(oracle_scores(folder / "scored.jsonl", splits.spec))
    pairs = [(primary[ident], scores, ident) for ident, scores in oracle_scores(alt_path, splits.spec) if ident in primary]
    if not pairs:
        return None
    first = np.asarray([p for p, _, _ in pairs])
    second = np.asarray([s for _, s, _ in pairs])
    offset = (second - first).mean(0)
    names = splits.spec.dimension_names
    shared_in_test = {ident for _, _, ident in pairs} & {row["id"] for row in splits.test}
    return {
        "second_oracle_file": splits.config.alt_oracle,
        "shared_articles": len(pairs),
        "shared_articles_in_test": len(shared_in_test),
        "oracle_vs_oracle_mae": float(np.abs(second - first).mean()),
        "oracle_vs_oracle_mae_per_dimension": dict(zip(names, np.abs(second - first).mean(0).tolist())),
        "mean_offset_second_minus_first": dict(zip(names, offset.tolist())),
        "oracle_vs_oracle_mae_offset_removed": float(np.abs(second - offset - first).mean()),
        "note": OFFSET_NOTE,
    }


def truncation_evidence(student: MethodResult, tfidf: MethodResult, splits: Splits) -> dict[str, Any] | None:
    """Student vs TF-IDF MAE on test articles the student's input cut vs those it kept whole."""
    mask = student.settings.get("_truncated_mask")
    if mask is None or student.predictions is None or tfidf.predictions is None:
        return None
    gold = splits.labels("test")
    out = {}
    for name, rows in (("truncated", mask), ("whole", ~mask)):
        if rows.sum() == 0:
            continue
        student_mae = clipped_mae(student.predictions[rows], gold[rows])
        tfidf_mae = clipped_mae(tfidf.predictions[rows], gold[rows])
        out[name] = {"articles": int(rows.sum()), "student_mae": student_mae, "tfidf_ridge_mae": tfidf_mae,
                     "mean_predictor_mae": clipped_mae(np.tile(splits.train_means, (int(rows.sum()), 1)), gold[rows]),
                     "student_over_tfidf": student_mae / max(tfidf_mae, 1e-12)}
    return out


def article_length_profile(student: MethodResult, splits: Splits) -> dict[str, Any] | None:
    """How many test articles a doubled input budget would keep whole, and what it costs in tokens."""
    run_dir, budget = student.settings.get("run_dir"), student.settings.get("article_tokens")
    if not run_dir or not budget:
        return None
    tokenizer = pipeline.trained_tokenizer(Path(run_dir))
    ids = tokenizer(texts(splits.test), add_special_tokens=False, verbose=False)["input_ids"]
    lengths = np.asarray([len(article_ids) for article_ids in ids])
    doubled = 2 * budget + 2
    kept_now = max(np.minimum(lengths, budget).sum(), 1)
    return {"tokenizer": student.settings.get("model"), "article_tokens": budget, "doubled_article_tokens": doubled,
            "share_longer_than_budget": float((lengths > budget).mean()),
            "share_longer_than_doubled": float((lengths > doubled).mean()), "median_tokens": float(np.median(lengths)),
            "token_cost_doubled_over_budget": float(np.minimum(lengths, doubled).sum() / kept_now)}


def learning_curve_entry(result: MethodResult, fraction: float, n_train: int) -> dict[str, Any]:
    entry = {"fraction": fraction, "train_examples": n_train, "status": result.status, "note": result.note}
    if result.ok:
        entry.update(test_mae=result.test["mae"], test_mean_predictor_mae=result.test["mean_predictor_mae"],
                     val_mae=result.val_mae_first_n, train_seconds=result.train_seconds,
                     articles_seen=result.settings.get("articles_seen"), steps=result.settings.get("global_steps"))
    return entry


def epoch_curve(student: MethodResult, dataset: str) -> dict[str, Any] | None:
    """The student's validation MAE after each epoch (its run's training_history.json) beside the mean
    predictor's on the same articles (the selection articles; no test per epoch)."""
    run_dir = student.settings.get("run_dir")
    history = pipeline.run_history(Path(run_dir)) if run_dir else []
    if not history:
        return None
    epochs = [{"epoch": entry["epoch"], "val_mae": entry["val_mae"], "val_mean_predictor_mae": entry["val_mean_predictor_mae"],
               "train_loss": entry.get("train_loss"), "global_step": entry.get("global_step"),
               "partial_epoch": bool(entry.get("partial_epoch"))} for entry in history]
    return {"dataset": dataset, "method": student.label, "key": student.key, "epochs": epochs,
            "val_articles": student.settings.get("val_examples"), "best_epoch": student.settings.get("best_epoch"),
            "stopped_by": student.settings.get("stopped_by"), "epochs_planned": student.settings.get("epochs")}
