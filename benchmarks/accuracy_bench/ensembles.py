"""Ensembles through filterforge's ensemble library: per dataset, stack ensembles of (best student + TF-IDF
+ ridge), (best student + probe) and (best distillation + best instruction student, where both finished).
``filterforge ensemble`` fits them on the model data's calibration.jsonl (the fit articles: no checkpoint,
no alpha and no test article); the benchmark scores them through ``Scorer`` and cross-fits them on the same
articles for the recommendation (``recommend.cross_fitted``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import pipeline
from .baselines import PROBE_KEY, TFIDF_KEY
from .config import ENSEMBLE_OVERHEAD_S, Profile
from .recommend import cross_fitted
from .results import MethodResult
from .scoring import clipped_mae, score_predictions
from .splits import Splits
from .timing import Clock, log

METHOD = "stack"
CLOCK_KIND = "ensemble"


@dataclass(frozen=True, eq=False)
class Plan:
    members: tuple[MethodResult, ...]
    role: str  # what the ensemble asks, e.g. "best student + TF-IDF + ridge"

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.members]

    @property
    def key(self) -> str:
        return "ensemble-" + "+".join(self.keys)

    @property
    def label(self) -> str:
        return f"ensemble ({METHOD}): " + " + ".join(self.keys)


def student_plans(results: Sequence[MethodResult], best_student: MethodResult | None) -> list[Plan]:
    """Best student + TF-IDF + ridge, best student + probe (those whose baseline finished)."""
    if best_student is None:
        return []
    plans = []
    for key, role in ((TFIDF_KEY, "best student + TF-IDF + ridge"), (PROBE_KEY, "best student + probe")):
        baseline = next((r for r in results if r.key == key and r.ok), None)
        if baseline is not None:
            plans.append(Plan((best_student, baseline), role))
    return plans


def distillation_instruction_plan(results: Sequence[MethodResult]) -> Plan | None:
    """The best distillation and the best instruction student (by selection val MAE), where both finished."""
    def best(strategy: str) -> MethodResult | None:
        found = [r for r in results if r.kind == "student" and r.ok and r.settings.get("strategy") == strategy]
        return min(found, key=lambda r: r.val_mae_first_n) if found else None

    distillation, instruction = best("distillation"), best("instruction")
    if distillation is None or instruction is None:
        return None
    return Plan((distillation, instruction), "best distillation + best instruction student")


def estimate_seconds(plan: Plan, splits: Splits) -> float:
    """Building predicts every member on val (fit and selection articles), scoring predicts test."""
    articles = len(splits.val) + len(splits.test)
    return sum((m.ms_per_article or 0.0) / 1000 * articles for m in plan.members) + ENSEMBLE_OVERHEAD_S


def run_ensemble(plan: Plan, splits: Splits, model_data: Path, work_dir: Path, profile: Profile,
                 clock: Clock) -> MethodResult:
    result = MethodResult(plan.key, plan.label, "ensemble")
    if not splits.fit:
        result.status, result.note = "skipped", "no fit articles: val is too small to hold some out"
        return result
    estimate = estimate_seconds(plan, splits)
    fits, why = clock.fits(estimate, CLOCK_KIND)
    if not fits:
        result.status, result.note = "skipped", f"time budget: {why}"
        log(f"  skip {plan.key} on {splits.config.name}: {why}")
        return result
    log(f"  {plan.label} on {splits.config.name} ({why})")
    out_dir = work_dir / splits.config.name / "ensembles" / plan.key
    started = time.time()
    try:
        metadata = pipeline.build_ensemble_run([Path(m.settings["run_dir"]) for m in plan.members], model_data, out_dir,
                                               profile.threads, METHOD)
        test = pipeline.score_run(out_dir, {"test": splits.test}, profile.threads)["test"]
    except Exception as exc:
        result.status, result.note = "failed", f"{type(exc).__name__}: {exc}"
        log(f"  {plan.key} failed: {result.note}")
        return result
    clock.learn(estimate, time.time() - started, CLOCK_KIND)
    record_ensemble(result, plan, splits, profile, metadata, test, out_dir)
    log(f"  {plan.key}: test MAE {result.test['mae']:.3f}, cross-fitted fit-split MAE {result.fit_mae:.3f}; "
        f"leans on {', '.join(sorted(set(result.ensemble['leans_on'].values())))}")
    return result


def record_ensemble(result: MethodResult, plan: Plan, splits: Splits, profile: Profile, metadata: dict[str, Any],
                    test: pipeline.Scored, out_dir: Path) -> None:
    ensemble = metadata["ensemble"]
    result.test = score_predictions(test.predictions, splits.labels("test"), splits.spec,
                                    np.asarray(metadata["train_label_means"]), profile.seed)
    result.predictions = test.predictions
    result.val_mae_first_n = metadata["best_val_mae"]  # the selection articles: out-of-sample for the weights
    result.train_seconds, result.ms_per_article = metadata["train_seconds"], test.ms_per_article
    result.tokens = {**test.tokens, "most_truncating_member": metadata["token_budget"].get("member")}
    result.settings = {"run_dir": str(out_dir), "method": METHOD, "role": plan.role, "members": plan.keys,
                       "data_dir": metadata["data_dir"], "fit_split": {k: ensemble["fit_split"][k] for k in ("name", "articles")}}
    crossfit = crossfit_json(plan, splits, profile)
    if crossfit is not None:
        result.fit_predictions = crossfit.pop("_predictions")
        result.fit_mae = crossfit["mae"]
    result.ensemble = {
        "members": plan.keys, "member_labels": {m.key: m.label for m in plan.members},
        "weights": {dim: row["weights"] for dim, row in ensemble["per_dimension"].items()},
        "leans_on": {dim: row["leans_on"] for dim, row in ensemble["per_dimension"].items()},
        "fit_split_mae_in_sample": ensemble["fit_split_mae"], "crossfit": crossfit,
    }


def crossfit_json(plan: Plan, splits: Splits, profile: Profile) -> dict[str, Any] | None:
    """The cross-fitted fit-split MAE beside each member's, and how much each weight moved across folds."""
    if any(m.fit_predictions is None for m in plan.members):
        return None
    gold = splits.labels("fit")
    scores = np.stack([m.fit_predictions for m in plan.members])
    names = splits.spec.dimension_names
    fitted = cross_fitted(scores, gold, plan.keys, names, profile.ensemble_folds, profile.seed, METHOD)
    if fitted is None:
        return None
    predictions, fold_weights = fitted
    weights = np.stack(fold_weights)  # [folds, d, m]
    return {"k": len(fold_weights), "articles": len(gold), "mae": clipped_mae(predictions, gold),
            "member_mae": {m.key: m.fit_mae for m in plan.members},
            "weight_range_over_folds": {dim: {key: [round(float(weights[:, d, i].min()), 4),
                                                    round(float(weights[:, d, i].max()), 4)]
                                              for i, key in enumerate(plan.keys)} for d, dim in enumerate(names)},
            "_predictions": predictions}
