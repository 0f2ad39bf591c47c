"""One student job: its CPU budget, its cost estimate against the time guard, and its scored result."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import pipeline, students
from .config import CHARS_PER_TOKEN, COST_PER_TOKEN, INSTRUCTION_ARTICLE_COST, JOB_OVERHEAD_S, Profile, StudentSpec
from .recipe import KIND, recipe, recipe_epochs, student_label, train_overrides
from .results import MethodResult
from .scoring import clipped_mae, score_predictions
from .splits import Splits, texts
from .timing import Clock, log

ESTIMATE_SAMPLE_ROWS = 500


def model_name(student: StudentSpec, profile: Profile) -> str:
    return profile.encoder_model if student.model == "encoder" else profile.decoder_model


def student_budget(student: StudentSpec, splits: Splits, profile: Profile) -> dict[str, Any]:
    if student.recipe:
        epochs, cap = recipe_epochs(len(splits.train), profile, KIND[student.model])
        return {"article_tokens": profile.encoder_article_tokens if student.model == "encoder" else
                profile.decoder_article_tokens, "epochs": epochs, "max_steps": recipe(KIND[student.model])["max_steps"],
                "epochs_cap": cap}
    return {"article_tokens": profile.decoder_article_tokens, "epochs": profile.decoder_epochs,
            "max_steps": profile.decoder_max_steps, "epochs_cap": None}


def estimate_seconds(student: StudentSpec, splits: Splits, budget: dict, prompt_tokens: int, val_rows: int,
                     train_rows: int, epochs: int | None = None) -> float:
    """Rough CPU cost of one student job (``epochs`` run, default the budget's), from the field notes'
    per-token rates: training, validation after each epoch, scoring test and the fit articles."""
    rates = COST_PER_TOKEN[student.model]
    epochs = budget["epochs"] if epochs is None else epochs
    tokens = np.asarray([len(t) for t in texts(splits.train[:ESTIMATE_SAMPLE_ROWS])]) / CHARS_PER_TOKEN
    per_article = float(np.minimum(tokens, budget["article_tokens"]).mean())
    steps = math.ceil(train_rows / student.batch_size) * epochs
    if budget["max_steps"]:
        steps = min(steps, budget["max_steps"])
    prompt = prompt_tokens if student.strategy == "instruction" else 0
    attention = INSTRUCTION_ARTICLE_COST if prompt else 1.0
    train_s = steps * (student.batch_size * per_article * attention + prompt) * rates["train"]
    scored = val_rows * epochs + len(splits.test) + len(splits.fit)
    infer_s = scored * per_article * rates["infer"] * attention
    return train_s + infer_s + JOB_OVERHEAD_S[student.model]


def failed(result: MethodResult, exc: Exception) -> MethodResult:
    result.status, result.note = "failed", f"{type(exc).__name__}: {exc}"
    return result


def run_student(student: StudentSpec, splits: Splits, data_dir: Path, work_dir: Path, profile: Profile, clock: Clock,
                fraction: float = 1.0, key_suffix: str = "") -> MethodResult:
    """Train, score (test and fit articles, through the run's Scorer) and record one student unless the
    time guard says it would overrun."""
    key = student.key + key_suffix
    result = MethodResult(key, student_label(student), "student")
    budget = student_budget(student, splits, profile)
    try:
        fixed = students.strategy_fixed_tokens(model_name(student, profile), student.strategy, splits.spec)
    except Exception as exc:  # e.g. the model package is missing
        return failed(result, exc)
    train_rows = max(1, round(fraction * len(splits.train)))
    val_rows = len(splits.selection)
    estimate = estimate_seconds(student, splits, budget, fixed, val_rows, train_rows)
    fits, why = clock.fits(estimate, student.model)
    if not fits:
        result.status, result.note = "skipped", f"time budget: {why}"
        log(f"  skip {key} on {splits.config.name}: {why}")
        return result
    log(f"  train {key} on {splits.config.name} ({why})")
    run_dir = work_dir / splits.config.name / "runs" / key
    started = time.time()
    try:
        metadata = students.train_student(
            filter_id=splits.spec.id, strategy=student.strategy, data_dir=data_dir, run_dir=run_dir,
            model=model_name(student, profile), max_length=fixed + budget["article_tokens"], lora=student.lora,
            seed=profile.seed, max_train_examples=None if fraction >= 1.0 else train_rows, threads=profile.threads,
            overrides=train_overrides(student, budget))
        scored = pipeline.score_run(run_dir, {"test": splits.test, "fit": [] if key_suffix else splits.fit},
                                    profile.threads)
        pipeline.drop_resume_state(run_dir)
    except Exception as exc:
        failed(result, exc)
        log(f"  {key} failed: {result.note}")
        return result
    # what the epochs really run cost (early stopping may end before the budget's epochs)
    done = estimate_seconds(student, splits, budget, fixed, val_rows, train_rows, max(1, math.ceil(metadata["epochs_completed"] or 0)))
    clock.learn(done, time.time() - started, student.model)
    record_student(result, student, splits, profile, budget, metadata, scored)
    result.settings.update(run_dir=str(run_dir), estimated_seconds=round(estimate),
                           job_seconds=round(time.time() - started, 1))
    log(f"  {key}: test MAE {result.test['mae']:.3f} (mean predictor {result.test['mean_predictor_mae']:.3f}, "
        f"article tokens kept mean {result.tokens['article_tokens_kept_mean']}); {result.settings['job_seconds']} s")
    return result


def record_student(result: MethodResult, student: StudentSpec, splits: Splits, profile: Profile, budget: dict,
                   metadata: dict, scored: dict[str, pipeline.Scored]) -> None:
    """Scores, timings, token statistics and settings of a trained student, from filterforge's training metadata."""
    test = scored["test"]
    result.label = student_label(student, metadata.get("config"))  # what it really trained with
    result.test = score_predictions(test.predictions, splits.labels("test"), splits.spec,
                                    np.asarray(metadata["train_label_means"]), profile.seed)
    result.predictions = test.predictions
    result.val_mae_first_n = metadata["best_val_mae"]  # the trainer's val file holds exactly the selection articles
    if "fit" in scored:
        result.fit_predictions = scored["fit"].predictions
        result.fit_mae = clipped_mae(result.fit_predictions, splits.labels("fit"))
    result.train_seconds = metadata["train_seconds"]
    result.ms_per_article = test.ms_per_article
    result.tokens = {**test.tokens, "max_length": metadata["max_length"],
                     "train_share_truncated": metadata["token_budget"]["share_truncated"]}
    result.settings = student_settings(student, splits, profile, budget, metadata)
    result.settings["_truncated_mask"] = test.truncated
    steps, examples = metadata["global_steps"], metadata["train_examples"]
    result.budget_limited = metadata["stopped_by"] == "max_steps" and steps < math.ceil(examples / student.batch_size)
    if result.budget_limited:
        result.note = (f"budget-limited: {steps} step{'s' if steps != 1 else ''} = {steps * student.batch_size} of "
                       f"{examples} train articles")
    elif budget.get("epochs_cap"):
        result.note = budget["epochs_cap"]
    if metadata["stopped_by"] == "early_stopping":
        result.note = (result.note + "; " if result.note else "") + (
            f"early stopping after epoch {metadata['epochs_completed']} (best epoch {metadata['best_epoch']})")


def student_settings(student: StudentSpec, splits: Splits, profile: Profile, budget: dict,
                     metadata: dict) -> dict[str, Any]:
    """What the student really trained with, as filterforge's metadata recorded it."""
    config = metadata.get("config") or {}
    return {
        "model": model_name(student, profile), "strategy": student.strategy, "lora": student.lora,
        "recipe": "TrainConfig defaults" if student.recipe else "benchmark settings",
        "recipe_kind": metadata.get("recipe"),  # the kind of body whose recipe filled the unset settings
        "learning_rate": metadata["learning_rate"], "head_learning_rate": metadata["head_learning_rate"],
        "layer_lr_decay": metadata.get("layer_lr_decay"), "warmup_steps": metadata.get("warmup_steps"),
        "early_stopping_patience": config.get("early_stopping_patience"), "weight_decay": config.get("weight_decay"),
        "batch_size": student.batch_size, "epochs": metadata["epochs"], "epochs_completed": metadata["epochs_completed"],
        "max_steps": budget["max_steps"], "article_tokens": budget["article_tokens"],
        "train_examples": metadata["train_examples"], "train_examples_available": len(splits.train),
        "global_steps": metadata["global_steps"], "articles_seen": metadata["global_steps"] * student.batch_size,
        "stopped_by": metadata["stopped_by"], "best_epoch": metadata["best_epoch"], "val_examples": metadata["val_examples"],
        "articles_per_second": metadata["articles_per_second"], "peak_memory_mb": metadata["peak_memory_mb"],
        "data_hash": metadata["data_hash"],
    }
