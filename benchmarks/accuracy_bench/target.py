"""The target (the recommended model's test MAE <= TARGET_RATIO x TF-IDF + ridge's, with the upper end of the paired
bootstrap interval of that ratio below TARGET_UPPER_BOUND), the evidence, and what would close the gap."""

from __future__ import annotations

import math
from typing import Any, Sequence

from .config import SUSTAINABILITY_ORACLE_NOTE, TARGET_RATIO, TARGET_UPPER_BOUND, TRUNCATION_MARGIN
from .evidence import article_length_profile, truncation_evidence
from .markdown import fmt
from .recommend import comparison
from .results import MethodResult
from .splits import Splits

NOT_EVALUATED = {"met": None, "recommended": None,
                 "summary": "Not evaluated: TF-IDF + ridge or a recommended model is missing on sustainability."}
WORST_DIMENSIONS_SHOWN = 3


def evaluate_target(recommended: MethodResult | None, best: MethodResult | None, tfidf: MethodResult | None,
                    splits: Splits, learning_curve: dict | None, noise_floors: Sequence[dict | None],
                    seed: int) -> dict[str, Any]:
    """``recommended``: the lowest fit-split MAE (recommend.py); ``best``: the best student by val MAE."""
    if tfidf is None or recommended is None:
        return dict(NOT_EVALUATED)
    versus = comparison(recommended, tfidf, splits, seed)
    ratio, interval = versus["ratio"], versus["ratio_ci95"]
    met = ratio <= TARGET_RATIO and interval[1] < TARGET_UPPER_BOUND
    summary = (f"Recommended model (lowest fit MAE§ among students, baselines and ensembles): {recommended.label} "
               f"({recommended.kind}), test MAE {recommended.test['mae']:.3f} vs TF-IDF + ridge {tfidf.test['mae']:.3f} "
               f"(mean predictor {recommended.test['mean_predictor_mae']:.3f}): ratio {ratio:.3f} (95% paired bootstrap "
               f"interval {interval[0]:.3f}-{interval[1]:.3f}); target ratio <= {TARGET_RATIO} with the interval's upper "
               f"end below {TARGET_UPPER_BOUND:g}: **{'met' if met else 'not met'}**.")
    if best is not None and best is not recommended:
        best_ratio = best.test["mae"] / tfidf.test["mae"]
        summary += f" Best student by val MAE: {best.label}, test MAE {best.test['mae']:.3f} (ratio {best_ratio:.3f})."
    evidence, lines = target_evidence(recommended, best, tfidf, splits, learning_curve, noise_floors)
    return {"met": met, "recommended": recommended.key, "recommended_label": recommended.label,
            "recommended_kind": recommended.kind, "recommended_test_mae": recommended.test["mae"],
            "best_student": best.key if best else None, "best_student_test_mae": best.test["mae"] if best else None,
            "tfidf_ridge_test_mae": tfidf.test["mae"], "ratio": ratio, "ratio_ci95": interval,
            "threshold": TARGET_RATIO, "upper_bound": TARGET_UPPER_BOUND, "summary": summary, "evidence": evidence,
            "evidence_lines": lines, "what_would_close_it": [] if met else closing_steps(best, evidence)}


def target_evidence(recommended: MethodResult, best: MethodResult | None, tfidf: MethodResult, splits: Splits,
                    learning_curve: dict | None, noise_floors: Sequence[dict | None]) -> tuple[dict, list[str]]:
    evidence: dict[str, Any] = {}
    lines: list[str] = []
    truncation = truncation_evidence(best, tfidf, splits) if best else None
    if truncation:
        evidence["truncation"] = truncation
        lines.append(truncation_line(best, truncation))
    lengths = article_length_profile(best, splits) if best else None
    if lengths:
        evidence["article_lengths"] = lengths
        lines.append(lengths_line(lengths))
    per_dim = per_dimension_mae(recommended, tfidf, splits.spec.dimension_names)
    evidence["per_dimension_mae"] = per_dim
    if recommended is not tfidf:
        lines.append(per_dimension_line(per_dim))
    if learning_curve:
        evidence["learning_curve"] = learning_curve
        lines += learning_curve_lines(learning_curve)
    if best is not None and best.budget_limited:
        lines.append(f"Compute: {best.note}.")
    if best is not None:
        lines.append(f"Training cost: best student {fmt(best.train_seconds, 0)} s vs TF-IDF + ridge "
                     f"{fmt(tfidf.train_seconds, 0)} s (alpha search included) on this CPU.")
    lines.append(SUSTAINABILITY_ORACLE_NOTE)
    floor = next((noise for noise in noise_floors if noise), None)
    if floor:
        lines.append(f"Label noise (seece-energy-tech, the only dataset with a second oracle): oracle-vs-oracle MAE "
                     f"{floor['oracle_vs_oracle_mae']:.2f} on {floor['shared_articles']} shared articles "
                     f"({floor['oracle_vs_oracle_mae_offset_removed']:.2f} with the mean offset removed).")
    return evidence, lines


def truncation_line(best: MethodResult, truncation: dict) -> str:
    parts = [f"{k}: {v['articles']} articles, student {v['student_mae']:.3f} vs TF-IDF {v['tfidf_ridge_mae']:.3f} "
             f"(x{v['student_over_tfidf']:.2f})" for k, v in truncation.items()]
    return (f"Truncation: the best student's input cut {best.tokens.get('share_truncated', 0):.0%} of test "
            f"articles (mean {best.tokens.get('article_tokens_kept_mean', 0):.0f} article tokens kept); "
            + "; ".join(parts) + ".")


def lengths_line(lengths: dict) -> str:
    return (f"Test article lengths ({lengths['tokenizer']} tokens, median {lengths['median_tokens']:.0f}): "
            f"{lengths['share_longer_than_budget']:.0%} exceed the student's {lengths['article_tokens']}-token "
            f"budget, {lengths['share_longer_than_doubled']:.0%} exceed {lengths['doubled_article_tokens']}; the "
            f"doubled budget would cost x{lengths['token_cost_doubled_over_budget']:.2f} the article tokens.")


def per_dimension_mae(recommended: MethodResult, tfidf: MethodResult,
                      names: Sequence[str]) -> dict[str, dict[str, float]]:
    return {dim: {"recommended": recommended.test["per_dimension_mae"][dim],
                  "tfidf_ridge": tfidf.test["per_dimension_mae"][dim],
                  "mean_predictor": recommended.test["mean_predictor_per_dimension_mae"][dim]} for dim in names}


def per_dimension_line(per_dim: dict[str, dict[str, float]]) -> str:
    gap = {dim: values["recommended"] - values["tfidf_ridge"] for dim, values in per_dim.items()}
    worst = sorted(per_dim, key=gap.__getitem__, reverse=True)[:WORST_DIMENSIONS_SHOWN]
    return ("Per-dimension test MAE, recommended model vs TF-IDF (largest gaps first): "
            + ", ".join(f"{d} {per_dim[d]['recommended']:.2f} vs {per_dim[d]['tfidf_ridge']:.2f}" for d in worst) + ".")


def learning_curve_lines(learning_curve: dict) -> list[str]:
    lines = []
    for method, entries in learning_curve["methods"].items():
        done = [e for e in entries if e["status"] == "ok"]
        if len(done) >= 2:
            lines.append(f"Learning curve {method}: " + ", ".join(f"{e['fraction']:.0%} -> {e['test_mae']:.3f}"
                                                                   for e in done) + ".")
    return lines


def closing_steps(best: MethodResult | None, evidence: dict) -> list[str]:
    if best is None:
        return []
    steps = [data_step(best, evidence), truncation_step(evidence)]
    settings = best.settings
    if best.budget_limited:
        steps.append("More optimizer steps: the CPU budget allowed a few steps for SmolLM2; on a GPU the SmolLM2 "
                     "students could train for full epochs.")
    elif settings.get("stopped_by") != "early_stopping" and settings.get("best_epoch") == settings.get("epochs_completed"):
        steps.append(f"More epochs: the best student's validation MAE still fell in its last epoch "
                     f"({settings.get('epochs_completed')} of {settings.get('epochs')}; see the epochs table).")
    return [step for step in steps if step]


def finished_curve(entries: list[dict]) -> dict[float, float]:
    return {e["fraction"]: e["test_mae"] for e in entries if e["status"] == "ok"}


def data_step(best: MethodResult, evidence: dict) -> str | None:
    """What the last doubling of train data did for each method, naively extrapolated to the target."""
    curve = evidence.get("learning_curve", {}).get("methods", {})
    student_curve = finished_curve(curve.get(best.label, []))
    tfidf_curve = finished_curve(curve.get("TF-IDF + ridge", []))
    common = sorted(set(student_curve) & set(tfidf_curve))
    if len(common) < 2:
        return None
    low, high = common[-2], common[-1]
    doublings = math.log2(high / low)
    student_gain = (student_curve[low] - student_curve[high]) / doublings
    tfidf_gain = (tfidf_curve[low] - tfidf_curve[high]) / doublings
    text = (f"From {low:.0%} to {high:.0%} of train the student's test MAE went {student_curve[low]:.3f} -> "
            f"{student_curve[high]:.3f} and TF-IDF's {tfidf_curve[low]:.3f} -> {tfidf_curve[high]:.3f}: ")
    closing = student_gain - TARGET_RATIO * tfidf_gain
    if closing <= 0:
        return text + "the gap to the target does not shrink with more data, so more oracle articles alone will not close it."
    more = (student_curve[high] - TARGET_RATIO * tfidf_curve[high]) / closing
    return text + (f"if both kept those rates per doubling of oracle data (a naive extrapolation), the student would "
                   f"reach {TARGET_RATIO} x TF-IDF after ~{more:.1f} more doublings (~{2 ** more:.0f}x the train articles).")


def truncation_step(evidence: dict) -> str | None:
    truncation = evidence.get("truncation", {})
    if "truncated" not in truncation or "whole" not in truncation:
        return None
    cut, whole = truncation["truncated"]["student_over_tfidf"], truncation["whole"]["student_over_tfidf"]
    if cut <= whole + TRUNCATION_MARGIN:
        return (f"Longer inputs are unlikely to close it: the student's MAE ratio to TF-IDF is about the same on "
                f"articles its input cut (x{cut:.2f}) as on whole ones (x{whole:.2f}).")
    lengths = evidence.get("article_lengths")
    cost = (f"{lengths['doubled_article_tokens']}-token inputs (x{lengths['token_cost_doubled_over_budget']:.2f} "
            f"the tokens, {lengths['share_longer_than_doubled']:.0%} still cut)") if lengths else "longer inputs"
    return (f"The student's MAE ratio to TF-IDF is worse on articles its input cut (x{cut:.2f}) than on whole "
            f"ones (x{whole:.2f}): {cost} or the head-tail strategy should help; both cost CPU time.")
