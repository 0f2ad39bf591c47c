"""The baselines every comparison carries: the mean predictor and TF-IDF + ridge (and, on small data,
the frozen-encoder embedding probe), fitted on the runs' own train split (alpha chosen on validation; cached beside the data), scored on the test file the runs
were evaluated on, and a check of whether the chosen student beats them beyond the paired bootstrap
interval — if not, the verdict names the cheaper model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.evaluation.comparison import RunSummary, best_val_per_dimension

logger = logging.getLogger(__name__)
METHODS = ("mean", "tfidf-ridge")
SMALL_DATA_METHODS = ("embedding-probe",)
CACHE_DIR = ".filterforge-baselines"


def methods_for(data_dir: Path) -> tuple[str, ...]:
    """The baselines worth fitting for this data: the embedding probe only when train is small."""
    from filterforge.data.splits import split_file
    from filterforge.io import iter_jsonl
    from filterforge.training.config import SMALL_DATA_TRAIN_ARTICLES

    train = split_file(data_dir, "train")
    rows = sum(1 for _ in iter_jsonl(train)) if train.is_file() else 0
    return METHODS + (SMALL_DATA_METHODS if 0 < rows <= SMALL_DATA_TRAIN_ARTICLES else ())


def cached_baseline(method: str, filter_id: str, data_dir: Path) -> Path:
    """The baseline's run folder beside the data, fitted once per data hash."""
    from filterforge.baselines.runs import BaselineSettings, fit_baseline
    from filterforge.data.splits import data_hash
    from filterforge.runs.layout import TRAINING_METADATA
    from filterforge.training.config import defaults

    folder = data_dir / CACHE_DIR / f"{method}-{data_hash(data_dir)[:16]}"
    if not (folder / TRAINING_METADATA).is_file():
        strategy = defaults()["strategy"] if method in SMALL_DATA_METHODS else None
        fit_baseline(BaselineSettings(filter_id, str(data_dir), str(folder), method, strategy=strategy, overwrite=True))
    return folder


def test_evaluation(run: Any, test_data: str, spec: Any) -> tuple[dict[str, Any], dict[str, float]]:
    from filterforge.data.labels import load_labelled_rows
    from filterforge.metrics import split_metrics, tier_metrics
    from filterforge.runtime.scorer import Scorer

    rows = load_labelled_rows(test_data, spec)
    pred = Scorer.load(run, runtime="torch").score(rows)
    gold = np.asarray([r["labels"] for r in rows], dtype=np.float64)
    evaluation = {"n": len(rows), "test_data": test_data, "calibrated": False, "edge_cases": None,
                  "metrics": split_metrics(pred, gold, spec, run.train_label_means()),
                  "tiers": tier_metrics(pred, gold, spec)[0]}
    errors = {str(r.get("id")): float(e) for r, e in zip(rows, np.abs(pred - gold).mean(1))}
    return evaluation, errors


def baseline_summaries(students: Sequence[RunSummary]) -> tuple[list[RunSummary], str]:
    """Baseline rows for the comparison, and a note on what was done (or why nothing was)."""
    from filterforge.filters.spec import resolve_filter
    from filterforge.runs.run import Run

    data_dir = next((d for d in (s.run.data_dir(required=False) for s in students) if d is not None), None)
    if data_dir is None:
        return [], "baselines not fitted: the runs' data dir is not here"
    filter_id = str(students[0].metadata.get("filter"))
    spec = resolve_filter(filter_id)
    test_data = next((s.evaluation["test_data"] for s in students if s.evaluation), None)
    summaries, skipped = [], []
    for method in methods_for(data_dir):
        try:
            run = Run.open(cached_baseline(method, filter_id, data_dir))
        except (FilterforgeError, OSError) as exc:
            if method in SMALL_DATA_METHODS:
                skipped.append(f"{method} not fitted ({exc})")
                continue
            return [], f"baselines not fitted ({exc})"
        metadata = run.metadata()
        evaluation, errors = test_evaluation(run, test_data, spec) if test_data else (None, None)
        summaries.append(RunSummary(run, f"baseline: {method}", metadata, evaluation, None,
                                    best_val_per_dimension(run.history(), metadata), is_baseline=True, test_errors=errors))
    where = f"fitted on {data_dir} (cached in {data_dir / CACHE_DIR})"
    where += f", scored on {test_data}" if test_data else ", validation only (no run was evaluated on test)"
    return summaries, "; ".join([where, *skipped])


def baseline_check(chosen: RunSummary, baselines: Sequence[RunSummary], seed: int = 0) -> dict[str, Any] | None:
    """Does the chosen student beat each baseline beyond the paired bootstrap interval of the test MAE
    ratio (student / baseline)? When a baseline is at least as good, name the cheaper model."""
    from filterforge.metrics import paired_ratio_interval

    if not baselines:
        return None
    student_errors = chosen.run.test_errors() if chosen.test_mae is not None else None
    checks = []
    for baseline in baselines:
        check: dict[str, Any] = {"baseline": baseline.name, "student": chosen.name}
        shared = sorted(set(student_errors or {}) & set(baseline.test_errors or {}))
        if shared:
            a = np.asarray([student_errors[i] for i in shared])
            b = np.asarray([baseline.test_errors[i] for i in shared])
            low, high = paired_ratio_interval(a, b, seed)
            check.update(basis="test", articles=len(shared), student_mae=float(a.mean()), baseline_mae=float(b.mean()),
                         ratio=float(a.mean() / max(b.mean(), 1e-12)), ratio_ci95=[round(low, 4), round(high, 4)],
                         student_beats_baseline=high < 1.0)
        elif chosen.val_mae is not None and baseline.val_mae is not None:
            check.update(basis="validation", student_mae=chosen.val_mae, baseline_mae=baseline.val_mae,
                         ratio=chosen.val_mae / max(baseline.val_mae, 1e-12), ratio_ci95=None,
                         student_beats_baseline=chosen.val_mae < baseline.val_mae)
        else:
            continue
        checks.append(check)
    return {"checks": checks, "text": verdict_text(chosen, checks, baselines)}


def verdict_text(chosen: RunSummary, checks: list[dict[str, Any]], baselines: Sequence[RunSummary]) -> str:
    rivals = [c for c in checks if not c["student_beats_baseline"]]
    if not checks:
        return "baselines not compared (no MAE on a shared split)"
    if not rivals:
        worst = max(checks, key=lambda c: c["ratio"])
        interval = f", 95 % paired bootstrap {worst['ratio_ci95'][0]:.2f}-{worst['ratio_ci95'][1]:.2f}" if worst["ratio_ci95"] else ""
        return (f"{chosen.name} beats every baseline on {worst['basis']} (closest: {worst['baseline']}, MAE ratio "
                f"{worst['ratio']:.2f}{interval})")
    best = min(rivals, key=lambda c: c["baseline_mae"])
    baseline = next(b for b in baselines if b.name == best["baseline"])
    speeds = (baseline.speed.get("ms_per_article"), chosen.speed.get("ms_per_article"))
    speed = f" ({speeds[0]:.2f} vs {speeds[1]:.2f} ms/article)" if all(v is not None for v in speeds) else ""
    interval = f", 95 % paired bootstrap {best['ratio_ci95'][0]:.2f}-{best['ratio_ci95'][1]:.2f}" if best["ratio_ci95"] else ""
    return (f"{best['baseline']} is at least as good as {chosen.name} on {best['basis']} (MAE {best['baseline_mae']:.3f} vs "
            f"{best['student_mae']:.3f}; ratio student/baseline {best['ratio']:.2f}{interval}): the cheaper model is "
            f"{best['baseline'].removeprefix('baseline: ')}{speed}")
