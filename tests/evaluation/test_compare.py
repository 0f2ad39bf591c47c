"""`filterforge compare`: the seed's decision table, verdict, hypothesis and warnings.

Most tests build run folders from the documented files alone (training_metadata.json, training_history.json,
evaluation.json, bench.json), so every branch of the decision rule is cheap to reach; one test trains,
evaluates and compares real tiny runs end to end, with the speed measured on the spot.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import invoke
from test_evaluate import EDGE_CASES, assert_one_line_error, train_tiny

DIMS = ["macro_risk_severity", "credit_market_stress", "market_sentiment_extremes", "valuation_risk",
        "policy_regulatory_risk", "systemic_risk", "evidence_quality", "actionability"]
GOOD_BUDGET = {"prompt_tokens": 2, "articles": 100, "article_tokens_kept_mean": 300.0, "article_tokens_kept_median": 290,
               "article_tokens_kept_min": 150, "article_tokens_kept_max": 510, "share_truncated": 0.0,
               "max_length": 512, "min_article_tokens": 128}


def fake_run(base: Path, name: str, strategy: str, *, val: float, test: float | None, dims: dict[str, float] | None = None,
             edge: tuple[int, int] | None = (5, 10), ms: float = 10.0, budget: dict | None = None,
             baseline: float = 2.5, machine: str = "test-box", runtime: str = "torch", tiers: dict | None = None) -> Path:
    run = base / name
    run.mkdir(parents=True)
    per_dim = dims or {d: test if test is not None else val for d in DIMS}
    (run / "training_metadata.json").write_text(json.dumps({
        "filter": "investment-risk/v2", "strategy": strategy, "include_prompt": strategy == "instruction",
        "model_name": "smollm2-135m" if strategy == "instruction" else "minilm", "best_val_mae": val, "best_epoch": 1,
        "val_mean_predictor_mae": baseline, "train_seconds": 100.0 if strategy == "instruction" else 20.0,
        "peak_memory_mb": 3000.0 if strategy == "instruction" else 900.0, "token_budget": budget or GOOD_BUDGET,
        "train_examples": 800, "seed": 42, "data_hash": "abc", "train_label_means": [3.0] * 8,
    }))
    (run / "training_history.json").write_text(json.dumps([{"epoch": 1, "val_mae": val, "val_per_dimension_mae": per_dim}]))
    if test is not None:
        (run / "evaluation.json").write_text(json.dumps({
            "run_dir": str(run), "test_data": "test.jsonl", "n": 100, "calibrated": False,
            "metrics": {"mae": test, "rmse": test + 0.5, "per_dimension_mae": per_dim, "mean_predictor_mae": baseline,
                        "mean_predictor_per_dimension_mae": {d: baseline for d in DIMS}, "spearman": 0.5},
            "tiers": tiers, "ranking": {"k": [10], "recall@k": {"10": 0.5}, "ndcg@k": {"10": 0.5}},
            "token_budget": budget or GOOD_BUDGET,
            "edge_cases": None if edge is None else {
                "pass_rate": edge[0] / edge[1], "passed": edge[0], "total": edge[1],
                "by_category": {"geopolitical": {"passed": edge[0], "total": edge[1]}}, "cases": []},
            "provenance": {"test_data_sha256": "t", "edge_cases_sha256": "e"},
        }))
    (run / "bench.json").write_text(json.dumps({"summary": {
        "ms_per_article": ms, "runtime": runtime, "batch_size": 1, "length": 512, "inference_peak_memory_mb": 500.0,
        "path": "shared-prefix" if strategy == "instruction" else "full-sequence", "machine": machine}}))
    return run


def run_compare(runner, tmp_path, *runs, extra=()):
    output = tmp_path / "cmp" / "report.md"
    result = invoke(runner, ["compare", *runs, "--output", output, *extra])
    assert result.exit_code == 0, result.output
    comparison = json.loads((output.parent / "comparison.json").read_text())
    return result, output.read_text(), comparison


def test_instruction_wins_on_mae_when_fast_enough(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.2, test=1.3, ms=10)
    i = fake_run(tmp_path, "instr", "instruction", val=0.9, test=1.0, ms=25)
    result, report, comparison = run_compare(runner, tmp_path, d, i)
    decision = comparison["decision"]
    assert decision["verdict"] == "instruction" and decision["chosen_run"] == str(i)
    assert "better MAE by more than 0.2" in decision["rule"] and "2.50x" in decision["rule"]
    assert decision["hypothesis"] == "instruction superior"
    assert "**Verdict: instruction**" in report and decision["rule"] in report
    assert "rule:" in result.output and "verdict: instruction" in result.output
    assert (tmp_path / "cmp" / "mode_comparison.png").stat().st_size > 1000
    assert comparison["speed"]["source"] == "bench.json"


def test_winner_per_row_and_per_dimension(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.2, test=1.3, ms=10, edge=(4, 10),
                 dims={**{n: 1.3 for n in DIMS}, "valuation_risk": 0.8})
    i = fake_run(tmp_path, "instr", "instruction", val=0.9, test=1.0, ms=25, edge=(7, 10))
    _, report, comparison = run_compare(runner, tmp_path, d, i)
    winners = {row["row"]: row["winner"] for row in comparison["table"]}
    assert winners["validation MAE"] == "instr" and winners["test MAE"] == "instr"
    assert winners["training time"] == "distil" and winners["training peak memory"] == "distil"
    assert winners["inference speed (ms/article, bench.json)"] == "distil"
    assert winners["inference peak memory"].startswith("tie")
    assert winners["edge-case pass rate"] == "instr"
    dims = {row["dimension"]: row["winner"] for row in comparison["per_dimension"]["rows"]}
    assert dims["valuation_risk"] == "distil" and dims["macro_risk_severity"] == "instr"
    assert comparison["per_dimension"]["basis"] == "test"
    assert "| test MAE | 1.300 (mean predictor 2.500) | 1.000 (mean predictor 2.500) | instr |" in report


@pytest.mark.parametrize("max_slowdown, verdict", [("3", "distillation"), ("6", "instruction")])
def test_speed_limit_decides(runner, tmp_path, max_slowdown, verdict):
    d = fake_run(tmp_path, "distil", "distillation", val=1.2, test=1.3, ms=10)
    i = fake_run(tmp_path, "instr", "instruction", val=0.9, test=1.0, ms=50)
    _, _, comparison = run_compare(runner, tmp_path, d, i, extra=("--max-slowdown", max_slowdown))
    decision = comparison["decision"]
    assert decision["verdict"] == verdict and decision["slowdown"] == 5.0
    if verdict == "distillation":
        assert "too slow" in decision["rule"] and "> --max-slowdown 3x" in decision["rule"]


def test_better_edge_cases_alone_choose_instruction(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0, edge=(5, 10))
    i = fake_run(tmp_path, "instr", "instruction", val=1.05, test=1.1, edge=(8, 10), ms=20)
    _, _, comparison = run_compare(runner, tmp_path, d, i)
    decision = comparison["decision"]
    assert decision["verdict"] == "instruction" and "generalizes better on edge cases" in decision["rule"]
    assert decision["hypothesis"] == "similar performance"


def test_distillation_when_instruction_is_not_better(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=0.9, edge=(6, 10))
    i = fake_run(tmp_path, "instr", "instruction", val=1.3, test=1.4, edge=(6, 10), ms=12)
    _, _, comparison = run_compare(runner, tmp_path, d, i)
    decision = comparison["decision"]
    assert decision["verdict"] == "distillation" and "neither better by more than 0.2" in decision["rule"]
    assert decision["hypothesis"] == "distillation superior"


def test_mixed_by_dimension(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0,
                 dims={**{n: 1.0 for n in DIMS}, "valuation_risk": 0.5, "systemic_risk": 1.5})
    i = fake_run(tmp_path, "instr", "instruction", val=1.0, test=1.0,
                 dims={**{n: 1.0 for n in DIMS}, "valuation_risk": 1.0, "systemic_risk": 1.0})
    _, report, comparison = run_compare(runner, tmp_path, d, i)
    decision = comparison["decision"]
    assert decision["hypothesis"].startswith("mixed by dimension")
    assert "ensemble or per-dimension models" in report
    assert "systemic_risk" in decision["hypothesis_reason"] and "valuation_risk" in decision["hypothesis_reason"]


def test_unevaluated_run_says_so_and_falls_back_to_validation(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.5, test=1.4)
    i = fake_run(tmp_path, "instr", "instruction", val=1.0, test=None, ms=20)
    _, report, comparison = run_compare(runner, tmp_path, d, i)
    row = next(r for r in comparison["table"] if r["row"] == "test MAE")
    assert row["cells"][1] == "not evaluated"
    assert "| test MAE | 1.400 (mean predictor 2.500) | not evaluated |" in report
    decision = comparison["decision"]
    assert decision["basis"] == "validation" and "applied to validation MAE" in decision["rule"]
    assert decision["verdict"] == "instruction"
    assert comparison["per_dimension"]["basis"] == "validation"


def test_warnings_on_top_for_truncation_and_weak_models(runner, tmp_path):
    cut = {**GOOD_BUDGET, "share_truncated": 0.4, "article_tokens_kept_min": 3}
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0)
    i = fake_run(tmp_path, "instr", "instruction", val=2.6, test=2.7, budget=cut, baseline=2.5)
    result, report, comparison = run_compare(runner, tmp_path, d, i)
    body = report.split("**Verdict")[0]
    assert "WARNING: instr: articles cut away" in body and "40% truncated" in body
    assert "WARNING: instr: test MAE 2.700 is not better than the mean predictor's 2.500" in body
    assert "WARNING: instr: validation MAE" in body
    assert "WARNING: distil" not in report
    assert result.output.startswith("WARNING")


def test_best_of_each_kind_is_chosen_on_validation_not_test(runner, tmp_path):
    a = fake_run(tmp_path, "distil-a", "distillation", val=1.0, test=1.5)
    b = fake_run(tmp_path, "distil-b", "distillation", val=1.2, test=0.8)
    i = fake_run(tmp_path, "instr", "instruction", val=1.1, test=1.2, ms=15)
    _, report, comparison = run_compare(runner, tmp_path, a, b, i)
    decision = comparison["decision"]
    assert decision["distillation_run"] == str(a) and decision["instruction_run"] == str(i)
    assert "best distillation-like and best instruction run by validation MAE" in decision["rule"]
    assert len(comparison["runs"]) == 3 and report.count("| validation MAE |") == 1


def test_bench_from_other_machines_is_not_mixed(runner, tmp_path, demo_splits):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0, machine="box-a")
    i = fake_run(tmp_path, "instr", "instruction", val=1.0, test=1.0, machine="box-b")
    # without bench.json from one machine the speed must be measured here, which needs the models
    result = invoke(runner, ["compare", d, i, "--output", tmp_path / "r.md", "--speed-data", demo_splits / "val.jsonl"])
    assert_one_line_error(result, "holds no filterforge model")


def test_compare_needs_two_runs(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0)
    result = invoke(runner, ["compare", d, "--output", tmp_path / "r.md"])
    assert_one_line_error(result, "at least two run dirs")
    assert not (tmp_path / "r.md").exists()


def test_compare_refuses_a_folder_that_is_not_a_run(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0)
    other = tmp_path / "other"
    other.mkdir()
    result = invoke(runner, ["compare", d, other, "--output", tmp_path / "r.md"])
    assert_one_line_error(result, str(other), "training_metadata.json")


@pytest.fixture(scope="module")
def evaluated_runs(tmp_path_factory, demo_splits, tiny_encoder, tiny_decoder):
    from click.testing import CliRunner

    base = tmp_path_factory.mktemp("compare-runs")
    runner = CliRunner()
    runs = [train_tiny(runner, demo_splits, tiny_encoder, base / "distillation", "distillation"),
            train_tiny(runner, demo_splits, tiny_decoder, base / "instruction", "instruction")]
    for run in runs:
        result = invoke(runner, ["evaluate", run, "--test-data", demo_splits / "test.jsonl", "--edge-cases", EDGE_CASES])
        assert result.exit_code == 0, result.output
    return runs


def test_end_to_end_every_row_filled_with_a_verdict(runner, evaluated_runs, tmp_path):
    result, report, comparison = run_compare(runner, tmp_path, *evaluated_runs, extra=("--speed-articles", "4", "--threads", "1"))
    assert comparison["speed"]["source"] == "measured" and "no bench.json" in comparison["speed"]["note"]
    students = [not run["baseline"] for run in comparison["runs"]]
    # the mean predictor, TF-IDF and (160 demo articles are small data) the embedding probe follow the runs
    assert students == [True, True, False, False, False]
    for row in comparison["table"]:
        cells = [cell for cell, student in zip(row["cells"], students) if student]
        assert all(cell not in ("—", "not evaluated", "None") for cell in cells), row
    for run in comparison["runs"]:
        assert run["speed"]["ms_per_article_batch1"] > 0 and run["speed"]["ms_per_article_batch8"] > 0
        assert run["speed"]["inference_peak_memory_mb"] > 0
    paths = [run["speed"]["path"] for run in comparison["runs"]]
    assert paths[:4] == ["full-sequence", "shared-prefix", "mean on the whole article (no truncation)",
                         "tfidf-ridge on the whole article (no truncation)"]
    decision = comparison["decision"]
    assert decision["verdict"] in ("distillation", "instruction") and decision["basis"] == "test"
    assert decision["hypothesis"] in ("similar performance", "instruction superior", "distillation superior",
                                      "mixed by dimension -> consider an ensemble or per-dimension models")
    assert f"Rule that decided: {decision['rule']}" in report
    assert "## Edge cases" in report and "| clickbait |" in report
    assert len(comparison["per_dimension"]["rows"]) == 8


def test_a_plugin_strategy_takes_its_role_from_its_attributes(runner, tmp_path):
    """head-tail (an installed plugin, article only) plays the distillation role; the verdict names it."""
    from filterforge.plugins.manager import get_strategies

    assert get_strategies()["head-tail"].uses_prompt is False
    h = fake_run(tmp_path, "headtail", "head-tail", val=1.0, test=0.9, edge=(6, 10))
    i = fake_run(tmp_path, "instr", "instruction", val=1.3, test=1.4, edge=(6, 10), ms=12)
    _, _, comparison = run_compare(runner, tmp_path, h, i)
    decision = comparison["decision"]
    assert decision["verdict"] == "head-tail" and decision["distillation_run"] == str(h)
    assert "neither better by more than 0.2" in decision["rule"]


def tier_entry(accuracy: float, labels=("RED", "YELLOW", "GREEN", "NOISE", "BLUE")) -> dict:
    return {"accuracy": accuracy, "labels": list(labels), "confusion_matrix": [[0] * len(labels) for _ in labels],
            "rows": "oracle tier", "columns": "predicted tier"}


def test_tier_accuracy_is_weighed_beside_the_mae(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.2, test=1.3, ms=10, tiers=tier_entry(0.81))
    i = fake_run(tmp_path, "instr", "instruction", val=0.9, test=1.0, ms=25, tiers=tier_entry(0.62))
    result, report, comparison = run_compare(runner, tmp_path, d, i)
    rows = [row["row"] for row in comparison["table"]]
    assert rows.index("test tier accuracy") == rows.index("test MAE") + 1
    row = comparison["table"][rows.index("test tier accuracy")]
    assert row["values"] == [0.81, 0.62] and row["cells"] == ["0.810", "0.620"] and row["winner"] == "distil"
    assert "| test tier accuracy | 0.810 | 0.620 | distil |" in report
    assert "test tier accuracy: 0.810 | 0.620" in result.output
    decision = comparison["decision"]
    assert decision["test_tier_accuracy"] == {"distillation": 0.81, "instruction": 0.62}
    assert "[test tier accuracy: instruction 0.620 vs distillation 0.810]" in decision["rule"]
    assert [r["test_tier_accuracy"] for r in comparison["runs"]] == [0.81, 0.62]


@pytest.mark.parametrize("tiers", [None, tier_entry(1.0, labels=("ALL",))])
def test_a_single_tier_gets_no_tier_accuracy_row(runner, tmp_path, tiers):
    """An evaluation of a one-tier filter (older ones recorded its accuracy of 1) shows no tier accuracy."""
    d = fake_run(tmp_path, "distil", "distillation", val=1.2, test=1.3, ms=10, tiers=tiers)
    i = fake_run(tmp_path, "instr", "instruction", val=0.9, test=1.0, ms=25, tiers=tiers)
    result, report, comparison = run_compare(runner, tmp_path, d, i)
    assert "tier accuracy" not in report and "tier accuracy" not in result.output
    assert all(row["row"] != "test tier accuracy" for row in comparison["table"])
    assert comparison["decision"]["test_tier_accuracy"] == {"distillation": None, "instruction": None}
