"""`filterforge evaluate` with edge-case suites, on tiny distillation and instruction runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, assert_one_line_error, invoke, tiny_train_args

EDGE_CASES = REPO / "filters" / "investment-risk" / "v2" / "edge_cases.yaml"
DIMS = ["macro_risk_severity", "credit_market_stress", "market_sentiment_extremes", "valuation_risk",
        "policy_regulatory_risk", "systemic_risk", "evidence_quality", "actionability"]


def instruction_max_length(model_dir: Path, article_tokens: int = 96) -> int:
    from transformers import AutoTokenizer

    from filterforge.filters.spec import resolve_filter
    from filterforge.plugins.manager import get_strategies

    strategy = get_strategies()["instruction"](resolve_filter("investment-risk/v2"), AutoTokenizer.from_pretrained(str(model_dir)))
    return strategy.fixed_tokens + article_tokens


def train_tiny(runner, splits: Path, model: Path, out: Path, strategy: str) -> Path:
    args = tiny_train_args(splits, model, out, strategy, "--max-train-examples", "16", "--threads", "1",
                           "--min-article-tokens", "64")
    if strategy == "instruction":
        args[args.index("--max-length") + 1] = str(instruction_max_length(model))
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_splits, tiny_encoder, tiny_decoder):
    from click.testing import CliRunner

    base = tmp_path_factory.mktemp("eval-runs")
    runner = CliRunner()
    return {
        "distillation": train_tiny(runner, demo_splits, tiny_encoder, base / "distillation", "distillation"),
        "instruction": train_tiny(runner, demo_splits, tiny_decoder, base / "instruction", "instruction"),
    }


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("strategy", ["distillation", "instruction"])
def test_evaluate_writes_metrics_predictions_plots_and_edge_cases(runner, runs, demo_splits, strategy):
    run = runs[strategy]
    result = invoke(runner, ["evaluate", run, "--test-data", demo_splits / "test.jsonl", "--edge-cases", EDGE_CASES,
                             "--k", "5,10,1000", "--threads", "1"])
    assert result.exit_code == 0, result.output
    for name in ("evaluation.json", "predictions.jsonl", "per_dimension_mae.png", "pred_vs_oracle.png"):
        assert (run / name).is_file(), name
    evaluation = json.loads((run / "evaluation.json").read_text())
    test_rows = read_jsonl(demo_splits / "test.jsonl")
    gold = np.array([r["labels"] for r in test_rows])
    assert evaluation["n"] == len(test_rows) and evaluation["calibrated"] is False
    assert evaluation["strategy"] == strategy

    # predictions.jsonl: the real ids, oracle scores and tiers, and the metrics agree with it
    predictions = read_jsonl(run / "predictions.jsonl")
    assert [p["id"] for p in predictions] == [r["id"] for r in test_rows]
    assert all(list(p["oracle"].values()) == r["labels"] for p, r in zip(predictions, test_rows))
    pred = np.array([[p["predicted"][d] for d in DIMS] for p in predictions])
    assert ((pred >= 0) & (pred <= 10)).all()
    metrics = evaluation["metrics"]
    assert metrics["mae"] == pytest.approx(np.abs(pred - gold).mean(), abs=1e-3)
    assert list(metrics["per_dimension_mae"]) == DIMS and list(metrics["per_dimension_spearman"]) == DIMS
    for key in ("rmse", "per_dimension_rmse", "spearman", "mean_predictor_per_dimension_mae"):
        assert key in metrics, key

    # the mean predictor is the run's training label means, scored on the same test rows
    means = np.array(json.loads((run / "training_metadata.json").read_text())["train_label_means"])
    assert metrics["mean_predictor_mae"] == pytest.approx(np.abs(means[None, :] - gold).mean(), abs=1e-6)

    tiers = evaluation["tiers"]
    assert tiers["labels"] == ["RED", "YELLOW", "GREEN", "NOISE", "BLUE"]
    assert sum(map(sum, tiers["confusion_matrix"])) == len(test_rows)
    agree = sum(p["oracle_tier"] == p["predicted_tier"] for p in predictions)
    assert tiers["accuracy"] == pytest.approx(agree / len(test_rows), abs=1e-4)
    assert sum(tiers["confusion_matrix"][i][i] for i in range(5)) == agree

    ranking = evaluation["ranking"]
    assert ranking["k"] == [5, 10, len(test_rows)]  # 1000 is clipped to the number of articles
    assert ranking["recall@k"][str(len(test_rows))] == 1.0  # everything is in the top n
    assert all(0 <= v <= 1 for v in ranking["ndcg@k"].values())

    budget = evaluation["token_budget"]
    assert budget["articles"] == len(test_rows) and budget["article_tokens_kept_min"] >= 1
    if strategy == "instruction":
        assert budget["prompt_tokens"] > 2000

    cases = yaml.safe_load(EDGE_CASES.read_text())["cases"]
    edge = evaluation["edge_cases"]
    assert [c["id"] for c in edge["cases"]] == [c["id"] for c in cases]
    assert sum(v["total"] for v in edge["by_category"].values()) == len(cases)
    assert sum(v["passed"] for v in edge["by_category"].values()) == sum(c["passed"] for c in edge["cases"])
    assert edge["pass_rate"] == pytest.approx(sum(c["passed"] for c in edge["cases"]) / len(cases), abs=1e-4)
    for case in edge["cases"]:
        assert case["passed"] == (not case["failed_expectations"])
        assert set(DIMS) | {"tier"} == set(case["predicted"])
    for key in ("git_commit", "package_versions", "seed", "train_data_hash", "test_data_sha256"):
        assert key in evaluation["provenance"], key

    # the printed table: every MAE beside the mean predictor, the article tokens kept, the edge-case tally
    assert "mean-pred" in result.output and "article tokens kept" in result.output
    assert f"edge cases: {edge['passed']}/{len(cases)} passed" in result.output
    for category in ("geopolitical", "economic_crisis", "policy_error", "clickbait"):
        assert category in result.output


def test_expectations_decide_pass_and_fail(runner, runs, demo_splits, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"filter": "investment-risk/v2", "cases": [
        {"id": "always", "category": "sanity", "title": "Bank shares fall", "content": "Banks fell sharply today.",
         "expect": ["all >= 0", "signal <= 10", "tier in [RED, YELLOW, GREEN, NOISE, BLUE]"]},
        {"id": "never", "category": "sanity", "title": "Markets calm", "content": "Stocks were flat.",
         "expect": ["all >= 0", "macro_risk_severity > 10", {"any": ["all > 10", "tier in [NOTATIER]"]}]},
    ]}))
    out = tmp_path / "eval"
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", demo_splits / "test.jsonl",
                             "--edge-cases", suite, "--output-dir", out])
    # an unknown tier name in an expectation is refused like an unknown dimension
    assert_one_line_error(result, str(suite), "case 'never'", "NOTATIER")
    assert not (out / "evaluation.json").exists()

    data = yaml.safe_load(suite.read_text())
    data["cases"][1]["expect"][2] = {"any": ["all > 10", "tier in [RED]"]}
    suite.write_text(yaml.safe_dump(data))
    out2 = tmp_path / "eval2"
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", demo_splits / "test.jsonl",
                             "--edge-cases", suite, "--output-dir", out2])
    assert result.exit_code == 0, result.output
    edge = json.loads((out2 / "evaluation.json").read_text())["edge_cases"]
    by_id = {c["id"]: c for c in edge["cases"]}
    assert by_id["always"]["passed"] is True and by_id["always"]["failed_expectations"] == []
    assert by_id["never"]["passed"] is False
    assert "macro_risk_severity > 10" in by_id["never"]["failed_expectations"]
    assert "all >= 0" not in by_id["never"]["failed_expectations"]
    assert edge["by_category"] == {"sanity": {"passed": 1, "total": 2}} and edge["pass_rate"] == 0.5
    assert "FAIL never" in result.output


def test_ranking_metrics_reward_finding_the_top_articles():
    from filterforge.metrics import ranking_metrics

    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 10, size=(40, 3))
    weights = [1.0, 1.0, 0.0]
    perfect = ranking_metrics(gold, gold, weights, ks=[5, 10])
    assert perfect["recall@k"] == {"5": 1.0, "10": 1.0} and perfect["ndcg@k"] == {"5": 1.0, "10": 1.0}
    inverted = ranking_metrics(10 - gold, gold, weights, ks=[5, 10])
    assert inverted["recall@k"]["5"] == 0.0 and inverted["ndcg@k"]["5"] < 0.6
    constant = ranking_metrics(np.full_like(gold, 3.0), gold, weights, ks=[5])
    assert constant["recall@k"]["5"] < 1.0


# -- bad input: one line, exit != 0, no traceback, nothing written -----------------------------

def test_run_dir_without_model(runner, demo_splits, tmp_path):
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    result = invoke(runner, ["evaluate", empty, "--test-data", demo_splits / "test.jsonl"])
    assert_one_line_error(result, str(empty), "no filterforge model")
    assert list(empty.iterdir()) == []


def test_test_data_with_other_dimensions(runner, runs, tmp_path):
    bad = tmp_path / "other.jsonl"
    bad.write_text(json.dumps({"id": "x1", "title": "t", "content": "c", "labels": [1, 2, 3],
                               "dimension_names": ["a", "b", "c"]}) + "\n")
    out = tmp_path / "eval"
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", bad, "--output-dir", out])
    assert_one_line_error(result, f"{bad}:1", "dimensions")
    assert not out.exists()


@pytest.mark.parametrize("expect, fragment", [
    ("made_up_dimension >= 6", "unknown dimension 'made_up_dimension'"),
    ("macro_risk_severity >>= 6", "is not '<dimension> <op> <number>'"),
    ("tier in [PURPLE]", "unknown tier PURPLE"),
])
def test_edge_case_file_errors_name_file_and_case(runner, runs, demo_splits, tmp_path, expect, fragment):
    suite = tmp_path / "bad_edge_cases.yaml"
    suite.write_text(yaml.safe_dump({"filter": "investment-risk/v2", "cases": [
        {"id": "fine-01", "category": "x", "title": "A", "content": "B", "expect": ["all >= 0"]},
        {"id": "broken-02", "category": "x", "title": "A", "content": "B", "expect": ["all >= 0", expect]},
    ]}))
    out = tmp_path / "eval"
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", demo_splits / "test.jsonl",
                             "--edge-cases", suite, "--output-dir", out])
    assert_one_line_error(result, str(suite), "case 'broken-02'", fragment)
    assert not out.exists()


def test_edge_case_file_for_another_filter(runner, runs, demo_splits, tmp_path):
    suite = tmp_path / "edge.yaml"
    suite.write_text(yaml.safe_dump({"filter": "sustainability/v1", "cases": [
        {"id": "a", "category": "x", "title": "A", "content": "B", "expect": ["all >= 0"]}]}))
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", demo_splits / "test.jsonl",
                             "--edge-cases", suite, "--output-dir", tmp_path / "eval"])
    assert_one_line_error(result, str(suite), "sustainability/v1", "investment-risk/v2")


def test_bare_model_folder_needs_an_output_dir(runner, runs, demo_splits):
    result = invoke(runner, ["evaluate", runs["distillation"] / "model", "--test-data", demo_splits / "test.jsonl"])
    assert_one_line_error(result, "--output-dir")


def test_raw_oracle_rows_are_accepted_as_test_data(runner, runs, demo_jsonl, tmp_path):
    raw = tmp_path / "oracle.jsonl"
    raw.write_text("".join(demo_jsonl.read_text().splitlines(keepends=True)[:12]))
    out = tmp_path / "eval"
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", raw, "--output-dir", out])
    assert result.exit_code == 0, result.output
    predictions = read_jsonl(out / "predictions.jsonl")
    source = read_jsonl(raw)
    assert [p["id"] for p in predictions] == [r["id"] for r in source]
    first = source[0]["investment-risk_analysis"]
    assert predictions[0]["oracle"] == {d: float(first[d]["score"]) for d in DIMS}


def test_real_scored_data_of_another_filter_is_refused(runner, runs, tmp_path):
    from conftest import DATASETS

    scored = DATASETS / "sustainability" / "scored.jsonl"
    if not scored.is_file():
        pytest.skip(f"{scored} not available")
    out = tmp_path / "eval"
    result = invoke(runner, ["evaluate", runs["distillation"], "--test-data", scored, "--output-dir", out])
    assert_one_line_error(result, f"{scored}:1", "investment-risk_analysis")
    assert not out.exists()


def test_compare_finds_evaluations_written_elsewhere(runner, runs, demo_splits, tmp_path):
    """`evaluate --output-dir` records where it wrote; compare and the run itself find it there."""
    from filterforge.runs.run import Run

    copies = {name: shutil.copytree(path, tmp_path / name) for name, path in runs.items()}
    for run in copies.values():
        (run / "evaluation.json").unlink(missing_ok=True)  # other tests evaluated the shared runs in place
    for name, run in copies.items():
        result = invoke(runner, ["evaluate", run, "--test-data", demo_splits / "test.jsonl", "--output-dir",
                                 tmp_path / "evaluations" / name])
        assert result.exit_code == 0, result.output
        assert not (run / "evaluation.json").exists()
        assert Run.open(run).evaluation()["n"] == len(read_jsonl(demo_splits / "test.jsonl"))
    result = invoke(runner, ["compare", *copies.values(), "--output", tmp_path / "cmp" / "report.md",
                             "--speed-articles", "2"])
    assert result.exit_code == 0, result.output
    comparison = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert all(r["evaluated"] and r["test_mae"] is not None for r in comparison["runs"])
    assert "not evaluated" not in next(row for row in comparison["table"] if row["row"] == "test MAE")["cells"]


def test_compare_adds_baselines_fitted_on_the_runs_train_split(runner, runs, demo_splits, tmp_path):
    """Mean predictor and TF-IDF + ridge rows on the same test file, cached beside the data, and a check
    of the chosen student against them with a paired bootstrap interval; --no-baselines leaves them out."""
    data = shutil.copytree(demo_splits, tmp_path / "data")
    copies = {}
    for name, path in runs.items():
        copies[name] = shutil.copytree(path, tmp_path / name)
        meta_path = copies[name] / "training_metadata.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "data_dir": str(data)}))  # a private copy: the cache goes there
        result = invoke(runner, ["evaluate", copies[name], "--test-data", data / "test.jsonl"])
        assert result.exit_code == 0, result.output
    result = invoke(runner, ["compare", *copies.values(), "--output", tmp_path / "cmp" / "report.md", "--speed-articles", "2"])
    assert result.exit_code == 0, result.output
    comparison = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    names = [r["name"] for r in comparison["runs"]]
    # 160 demo articles are small data: the embedding probe joins the mean predictor and TF-IDF
    assert names[2:] == ["baseline: mean", "baseline: tfidf-ridge", "baseline: embedding-probe"]
    assert [r["baseline"] for r in comparison["runs"]] == [False, False, True, True, True]
    test_row = next(row for row in comparison["table"] if row["row"] == "test MAE")
    assert all(value is not None for value in test_row["values"])
    checks = comparison["decision"]["baselines"]["checks"]
    assert {c["baseline"] for c in checks} == {"baseline: mean", "baseline: tfidf-ridge", "baseline: embedding-probe"}
    assert all(c["basis"] == "test" and len(c["ratio_ci95"]) == 2 for c in checks)
    assert "baselines:" in result.output and (data / ".filterforge-baselines").is_dir()
    assert "Baselines:" in (tmp_path / "cmp" / "report.md").read_text()

    result = invoke(runner, ["compare", *copies.values(), "--output", tmp_path / "plain" / "report.md",
                             "--speed-articles", "2", "--no-baselines"])
    assert result.exit_code == 0, result.output
    plain = json.loads((tmp_path / "plain" / "comparison.json").read_text())
    assert [r["name"] for r in plain["runs"]] == names[:2] and "baselines" not in plain["decision"]
