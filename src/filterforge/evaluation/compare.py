"""`compare`: the seed's decision table for two or more runs, a verdict and the rule behind it.

Rows: validation MAE, test MAE (each beside its mean-predictor MAE), test tier accuracy (for filters with
several tiers), training time, inference speed, memory (training peak, inference peak), edge-case pass
rate, each with a winner; per-dimension MAE with a winner per dimension. Test numbers come only from each run's evaluation (wherever `evaluate` wrote
it): compare never evaluates on the test split. Speed comes from every run's bench.json when all runs
have one from the same machine and runtime, else all runs are measured here on the same articles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError
from filterforge.evaluation.compare_report import build_rows, dimension_rows, render_report
from filterforge.evaluation.comparison import RunSummary, collect_speed, load_runs
from filterforge.evaluation.decision import DIMENSION_MARGIN, MAE_MARGIN, decide_all, warnings_for
from filterforge.io import atomic_write_text, write_json

COMPARISON_FILE = "comparison.json"
PLOT_FILE = "mode_comparison.png"


def run_entry(r: RunSummary) -> dict[str, Any]:
    return {"name": r.name, "path": str(r.path), "baseline": r.is_baseline, "strategy": r.strategy,
            "model": r.metadata.get("model_name"),
            "validation_mae": r.val_mae, "validation_mean_predictor_mae": r.val_baseline,
            "test_mae": r.test_mae, "test_mean_predictor_mae": r.test_baseline, "test_tier_accuracy": r.test_tier_accuracy,
            "evaluated": r.evaluation is not None,
            "train_seconds": r.metadata.get("train_seconds"), "training_peak_memory_mb": r.metadata.get("peak_memory_mb"),
            "speed": r.speed, "edge_pass_rate": r.edge_pass_rate,
            "edge_by_category": r.edge["by_category"] if r.edge else None,
            "token_budget": r.metadata.get("token_budget"),
            "test_token_budget": r.evaluation.get("token_budget") if r.evaluation else None,
            "seed": r.metadata.get("seed"), "data_hash": r.metadata.get("data_hash")}


def add_baselines(runs: list[RunSummary], decision: dict[str, Any], speed_info: dict[str, Any], speed_data: str | None,
                  count: int, device: str) -> list[RunSummary]:
    """Baseline rows (mean predictor, TF-IDF + ridge) with their speed measured here, and the check of
    the chosen student against them in ``decision["baselines"]``."""
    from filterforge.evaluation.baseline_rows import baseline_check, baseline_summaries
    from filterforge.evaluation.comparison import measure_speed, speed_articles

    baselines, note = baseline_summaries(runs)
    if baselines:
        articles, _ = speed_articles(runs, speed_data, count)
        for baseline in baselines:
            baseline.speed = measure_speed(baseline, articles, device)
            baseline.speed.update(ms_per_article=baseline.speed["ms_per_article_batch1"], runtime="baseline",
                                  batch_size=1, length="whole article")
        speed_info["baselines"] = "baseline speeds are measured here (batch 1) on the same articles"
    chosen = next(r for r in runs if str(r.path) == decision["chosen_run"])
    decision["baselines"] = {"note": note, **(baseline_check(chosen, baselines) or {"checks": [], "text": note})}
    return baselines


def compare(paths: Sequence[str], output: str | Path, max_slowdown: float = 3.0, measure: bool = False,
            speed_data: str | None = None, speed_articles_count: int = 16, device: str = "auto",
            baselines: bool = True) -> dict[str, Any]:
    from filterforge.plots import plot_mode_comparison
    from filterforge.provenance import provenance

    if max_slowdown <= 0:
        raise FilterforgeError(f"--max-slowdown must be > 0, got {max_slowdown}")
    runs = load_runs(paths)
    output = Path(output)
    if output.exists() and output.is_dir():
        raise FilterforgeError(f"--output {output} is a directory; give a file name such as {output / 'report.md'}")
    speed_info = collect_speed(runs, measure, speed_data, speed_articles_count, device)
    warnings = warnings_for(runs)
    decision = decide_all(runs, max_slowdown)
    rows = runs + (add_baselines(runs, decision, speed_info, speed_data, speed_articles_count, device) if baselines else [])
    table = build_rows(rows, speed_info)
    dim_basis, dims = dimension_rows(rows)
    report = render_report(rows, warnings, table, dim_basis, dims, speed_info, decision)
    runs = rows
    comparison = {
        "filter": runs[0].metadata.get("filter"),
        "runs": [run_entry(r) for r in runs],
        "table": [{k: row[k] for k in ("row", "values", "cells", "winner")} for row in table],
        "per_dimension": {"basis": dim_basis, "rows": dims},
        "speed": speed_info,
        "warnings": warnings,
        "decision": decision,
        "thresholds": {"mae_margin": MAE_MARGIN, "dimension_margin": DIMENSION_MARGIN, "max_slowdown": max_slowdown},
        "provenance": provenance(),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    names = [d["dimension"] for d in dims]
    plot_mode_comparison([r.name for r in runs],
                         [r.test_mae if dim_basis == "test" else r.val_mae for r in runs],
                         [r.test_baseline if dim_basis == "test" else r.val_baseline for r in runs],
                         names, [[d["values"][i] for d in dims] for i in range(len(runs))],
                         [r.speed.get("ms_per_article") for r in runs], output.parent / PLOT_FILE)
    write_json(output.parent / COMPARISON_FILE, comparison)
    atomic_write_text(output, report + "\n")
    return comparison
