"""One student job: its CPU budget, its cost estimate against the time guard, and its scored result."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import students
from .config import CHARS_PER_TOKEN, COST_PER_TOKEN, INSTRUCTION_ARTICLE_COST, JOB_OVERHEAD_S, Profile, StudentSpec
from .results import MethodResult
from .scoring import score_predictions
from .splits import Splits, texts
from .timing import Clock, log

ESTIMATE_SAMPLE_ROWS = 500


def model_name(student: StudentSpec, profile: Profile) -> str:
    return profile.encoder_model if student.model == "encoder" else profile.decoder_model


def student_budget(student: StudentSpec, splits: Splits, profile: Profile) -> dict[str, Any]:
    if student.model == "encoder":
        large = len(splits.train) > profile.large_dataset_rows
        epochs = profile.encoder_epochs_large if large else profile.encoder_epochs_small
        return {"article_tokens": profile.encoder_article_tokens, "epochs": epochs, "max_steps": None}
    return {"article_tokens": profile.decoder_article_tokens, "epochs": profile.decoder_epochs,
            "max_steps": profile.decoder_max_steps}


def estimate_seconds(student: StudentSpec, splits: Splits, budget: dict, prompt_tokens: int, val_rows: int,
                     train_rows: int) -> float:
    """Rough CPU cost of one student job, from the field notes' per-token rates."""
    rates = COST_PER_TOKEN[student.model]
    tokens = np.asarray([len(t) for t in texts(splits.train[:ESTIMATE_SAMPLE_ROWS])]) / CHARS_PER_TOKEN
    per_article = float(np.minimum(tokens, budget["article_tokens"]).mean())
    steps = math.ceil(train_rows / student.batch_size) * budget["epochs"]
    if budget["max_steps"]:
        steps = min(steps, budget["max_steps"])
    prompt = prompt_tokens if student.strategy == "instruction" else 0
    attention = INSTRUCTION_ARTICLE_COST if prompt else 1.0
    train_s = steps * (student.batch_size * per_article * attention + prompt) * rates["train"]
    infer_s = (val_rows * budget["epochs"] + len(splits.test)) * per_article * rates["infer"] * attention
    return train_s + infer_s + JOB_OVERHEAD_S[student.model]


def failed(result: MethodResult, exc: Exception) -> MethodResult:
    result.status, result.note = "failed", f"{type(exc).__name__}: {exc}"
    return result


def run_student(student: StudentSpec, splits: Splits, data_dir: Path, work_dir: Path, profile: Profile, clock: Clock,
                fraction: float = 1.0, key_suffix: str = "") -> MethodResult:
    """Train, predict and score one student unless the time guard says it would overrun."""
    key = student.key + key_suffix
    result = MethodResult(key, student.label, "student")
    budget = student_budget(student, splits, profile)
    try:
        fixed = students.strategy_fixed_tokens(model_name(student, profile), student.strategy, splits.spec)
    except Exception as exc:  # e.g. the model package is missing
        return failed(result, exc)
    train_rows = max(1, round(fraction * len(splits.train)))
    val_rows = min(len(splits.val), profile.student_val_limit)
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
        metadata = train(student, data_dir, run_dir, splits, profile, budget, fixed,
                         None if fraction >= 1.0 else train_rows)
        pred, ms, stats = students.predict(run_dir, splits.test)
        students.drop_resume_state(run_dir)
    except Exception as exc:
        failed(result, exc)
        log(f"  {key} failed: {result.note}")
        return result
    clock.learn(estimate, time.time() - started, student.model)
    record_student(result, student, splits, profile, budget, metadata, pred, ms, stats)
    result.settings.update(run_dir=str(run_dir), estimated_seconds=round(estimate),
                           job_seconds=round(time.time() - started, 1))
    result.settings["_truncated_mask"] = stats["truncated_mask"]
    log(f"  {key}: test MAE {result.test['mae']:.3f} (mean predictor {result.test['mean_predictor_mae']:.3f}, "
        f"article tokens kept mean {stats['article_tokens_kept_mean']}); {result.settings['job_seconds']} s")
    return result


def train(student: StudentSpec, data_dir: Path, run_dir: Path, splits: Splits, profile: Profile, budget: dict,
          fixed_tokens: int, max_train_examples: int | None) -> dict[str, Any]:
    return students.train_student(
        filter_id=splits.spec.id, strategy=student.strategy, data_dir=data_dir, run_dir=run_dir,
        model=model_name(student, profile), epochs=budget["epochs"], batch_size=student.batch_size,
        learning_rate=student.learning_rate, head_learning_rate=student.head_learning_rate,
        max_length=fixed_tokens + budget["article_tokens"], lora=student.lora, seed=profile.seed,
        max_steps=budget["max_steps"], max_train_examples=max_train_examples, threads=profile.threads)


def record_student(result: MethodResult, student: StudentSpec, splits: Splits, profile: Profile, budget: dict,
                   metadata: dict, pred: np.ndarray, ms: float, stats: dict[str, Any]) -> None:
    """Scores, timings, token statistics and settings of a trained student, from filterforge's training metadata."""
    result.test = score_predictions(pred, splits.labels("test"), splits.spec,
                                    np.asarray(metadata["train_label_means"]), profile.seed)
    result.predictions = pred
    result.val_mae_first_n = metadata["best_val_mae"]  # the trainer's val file holds exactly those articles
    result.train_seconds = metadata["train_seconds"]
    result.ms_per_article = ms
    result.tokens = {**{k: v for k, v in stats.items() if k != "truncated_mask"}, "max_length": metadata["max_length"],
                     "train_share_truncated": metadata["token_budget"]["share_truncated"]}
    result.settings = student_settings(student, splits, profile, budget, metadata)
    steps, examples = metadata["global_steps"], metadata["train_examples"]
    result.budget_limited = metadata["stopped_by"] == "max_steps" and steps < math.ceil(examples / student.batch_size)
    if result.budget_limited:
        result.note = (f"budget-limited: {steps} step{'s' if steps != 1 else ''} = {steps * student.batch_size} of "
                       f"{examples} train articles")


def student_settings(student: StudentSpec, splits: Splits, profile: Profile, budget: dict,
                     metadata: dict) -> dict[str, Any]:
    return {
        "model": model_name(student, profile), "strategy": student.strategy, "lora": student.lora,
        "learning_rate": student.learning_rate, "head_learning_rate": student.head_learning_rate,
        "batch_size": student.batch_size, "epochs": budget["epochs"], "max_steps": budget["max_steps"],
        "article_tokens": budget["article_tokens"], "train_examples": metadata["train_examples"],
        "train_examples_available": len(splits.train), "global_steps": metadata["global_steps"],
        "articles_seen": metadata["global_steps"] * student.batch_size, "stopped_by": metadata["stopped_by"],
        "best_epoch": metadata["best_epoch"], "val_examples": metadata["val_examples"],
        "articles_per_second": metadata["articles_per_second"], "peak_memory_mb": metadata["peak_memory_mb"],
        "data_hash": metadata["data_hash"],
    }
