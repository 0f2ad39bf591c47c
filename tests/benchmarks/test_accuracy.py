"""Smoke tests of the accuracy benchmark (benchmarks/accuracy.py -> benchmarks/accuracy_bench/): its
baselines, metrics, evidence and report on tiny data, and one capped run of the whole benchmark with
the tiny fixture models (skipped when ../shared/datasets is absent)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import DATASETS, REPO

BENCHMARKS = REPO / "benchmarks"
RESULTS = BENCHMARKS / "results"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from accuracy_bench import baselines, cli, config, evidence, report, scoring, students  # noqa: E402
from accuracy_bench.splits import Splits  # noqa: E402


def demo_splits_object(data_dir):
    from filterforge.data.splits import load_split
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("investment-risk/v2")
    rows = {name: load_split(data_dir / f"{name}.jsonl", spec) for name in ("train", "val", "test")}
    dataset = config.DatasetConfig("demo", spec.id, {"train": 0.8, "val": 0.1, "test": 0.1})
    return Splits(dataset, spec, data_dir, "demo", rows["train"], rows["val"], rows["test"], {})


def test_baselines_score_every_test_article_beside_the_mean_predictor(demo_splits, tiny_encoder):
    splits = demo_splits_object(demo_splits)
    gold = splits.labels("test")
    profile = config.Profile("test", probe_alphas=(0.01, 1.0))

    mean = baselines.mean_predictor(splits, seed=1)
    assert mean.test["n"] == len(splits.test)
    assert mean.test["mae"] == pytest.approx(mean.test["mean_predictor_mae"])
    assert mean.test["spearman"] is None  # a constant prediction has no ranking

    tfidf = baselines.tfidf_ridge(splits, (0.3, 3.0), seed=1)
    assert tfidf.settings["alpha"] in (0.3, 3.0)
    assert tfidf.val_mae == min(tfidf.settings["val_mae_by_alpha"].values())
    assert tfidf.test["n"] == len(splits.test)
    assert tfidf.test["mean_predictor_mae"] == pytest.approx(mean.test["mae"])
    assert tfidf.predictions.shape == gold.shape
    assert 0.0 <= tfidf.predictions.min() and tfidf.predictions.max() <= 10.0
    low, high = tfidf.test["mae_ci95"]
    assert low <= tfidf.test["mae"] <= high

    probe = baselines.embedding_probe(splits, tiny_encoder, profile)
    assert probe.test["n"] == len(splits.test)
    assert probe.settings["alpha"] in (0.01, 1.0)
    assert 0.0 <= probe.tokens["share_truncated"] <= 1.0
    assert probe.ms_per_article > 0


def test_baselines_on_a_single_dimension_filter(demo_splits, tiny_encoder):
    """commerce-prefilter has one dimension: ridge then predicts a vector, which must not broadcast."""
    from filterforge.filters.spec import resolve_filter

    commerce = resolve_filter("commerce-prefilter/v1")
    demo = demo_splits_object(demo_splits)
    one_dim = {name: [{**row, "labels": row["labels"][:1]} for row in getattr(demo, name)] for name in ("train", "val", "test")}
    splits = Splits(demo.config, commerce, demo_splits, "demo", one_dim["train"], one_dim["val"], one_dim["test"], {})
    gold_val = splits.labels("val")
    for result in (baselines.tfidf_ridge(splits, (0.3, 3.0), seed=1),
                   baselines.embedding_probe(splits, tiny_encoder, config.Profile("test", probe_alphas=(0.01, 1.0)))):
        assert result.predictions.shape == (len(splits.test), 1)
        assert result.val_mae == pytest.approx(np.abs(result.val_predictions - gold_val).mean())
        assert "tier_accuracy" in result.test and 0.0 <= result.test["tier_accuracy"] <= 1.0


def test_ranking_metrics():
    from filterforge.filters.spec import resolve_filter

    sustainability = resolve_filter("sustainability/v1")
    gold = np.random.default_rng(0).uniform(0, 10, (50, 8))
    assert scoring.recall_at_top(gold, gold, sustainability) == {"k": 5, "recall": 1.0}
    constant = scoring.recall_at_top(np.full_like(gold, 3.0), gold, sustainability)
    assert constant["recall"] == pytest.approx(5 / 50)
    reversed_rank = scoring.recall_at_top(-gold + 10, gold, sustainability)
    assert reversed_rank["recall"] == 0.0

    commerce = resolve_filter("commerce-prefilter/v1")
    pred = np.array([[8.0], [5.0], [1.0], [2.0]])
    gold = np.array([[9.5], [9.0], [1.0], [4.0]])  # same tier, COMMERCE vs MIXED, same, JOURNALISM vs MIXED
    assert scoring.tier_accuracy(pred, gold, commerce) == pytest.approx(0.5)

    pred = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    gold = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
    assert scoring.mean_spearman(pred, gold) == pytest.approx(1.0)  # the constant column is left out


def test_recall_counts_every_article_tied_with_the_oracles_kth():
    """The library's recall@k: an article tied with the oracle's k-th score is as relevant as the k-th."""
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("commerce-prefilter/v1")
    gold = np.array([[9.0]] + [[5.0]] * 3 + [[1.0]] * 16)  # k = 2: one clear top article, three tied second
    pred = np.array([[9.0], [1.0], [1.0], [8.0]] + [[0.0]] * 16)
    assert scoring.recall_at_top(pred, gold, spec) == {"k": 2, "recall": 1.0}


def test_scores_keep_the_reported_fields():
    from filterforge.filters.spec import resolve_filter

    rng = np.random.default_rng(1)
    for filter_id, ranking_field in (("seece-energy-tech/v1", "recall_at_top"), ("sustainability/v1", "tier_accuracy"),
                                     ("commerce-prefilter/v1", "tier_accuracy")):
        spec = resolve_filter(filter_id)
        gold = rng.uniform(0, 10, (40, len(spec.dimensions)))
        pred = gold + rng.normal(0, 1, gold.shape)
        scores = scoring.score_predictions(pred, gold, spec, gold.mean(0), seed=3)
        assert list(scores) == ["n", "mae", "rmse", "per_dimension_mae", "per_dimension_rmse", "mean_predictor_mae",
                                "mean_predictor_per_dimension_mae", "spearman", "mae_ci95", ranking_field]
        assert scores["mae"] == pytest.approx(np.abs(np.clip(pred, 0, 10) - gold).mean())


def test_oracle_noise_floor_on_shared_ids(tmp_path):
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("commerce-prefilter/v1")
    folder = tmp_path / "commerce-prefilter"
    folder.mkdir()

    def row(ident, score):
        return {"id": ident, "title": "t", "content": "c", "commerce-prefilter_analysis": {"commerce_score": {"score": score}}}

    (folder / "scored.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (row("a", 8), row("b", 2), row("c", 5))))
    (folder / "alt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (row("a", 6), row("b", 1), row("z", 9))))
    dataset = config.DatasetConfig("commerce-prefilter", spec.id, {}, "alt.jsonl")
    splits = Splits(dataset, spec, folder, "x", [], [], [{"id": "a"}], {})
    noise = evidence.oracle_noise_floor(splits, tmp_path)
    assert noise["shared_articles"] == 2
    assert noise["shared_articles_in_test"] == 1
    assert noise["oracle_vs_oracle_mae"] == pytest.approx(1.5)
    assert noise["mean_offset_second_minus_first"]["commerce_score"] == pytest.approx(-1.5)
    assert noise["oracle_vs_oracle_mae_offset_removed"] == pytest.approx(0.5)


def test_head_tail_comes_from_the_plugin_entry_points(monkeypatch):
    from filterforge.plugins import manager

    available, why = students.head_tail_available()
    assert available == ("head-tail" in manager.get_strategies())
    monkeypatch.setattr(manager, "get_strategies", lambda: {})
    available, why = students.head_tail_available()
    assert not available and "head-tail" in why


@pytest.mark.parametrize("name", ["accuracy", "accuracy_instruction_small"])
def test_markdown_renders_the_committed_results_unchanged(name):
    data = json.loads((RESULTS / f"{name}.json").read_text())
    assert report.markdown(data) + "\n" == (RESULTS / f"{name}.md").read_text()


def test_unknown_dataset_and_missing_data_are_one_line_errors(tmp_path):
    result = CliRunner().invoke(cli.main, ["--datasets", "nope"])
    assert result.exit_code == 1
    assert "unknown dataset nope" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli.main, ["--quick", "--datasets-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "no scored.jsonl for sustainability" in result.output
    assert not (tmp_path / "out.json").exists()


def test_entry_script_keeps_its_options():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "accuracy.py"), "--help"], capture_output=True, text=True,
                            check=True)
    for option in ("--quick", "--datasets", "--datasets-root", "--work-dir", "--output", "--time-budget",
                   "--encoder-model", "--decoder-model", "--max-train", "--max-val", "--max-test",
                   "--decoder-max-steps", "--encoder-article-tokens", "--students", "--threads", "--seed"):
        assert option in result.stdout


def committed_counterpart(committed_methods: list[dict], method: dict) -> dict:
    """The committed run's method of that key, or (where it was skipped there) another finished one of its kind."""
    finished = [m for m in committed_methods if m["status"] == "ok"]
    same_key = [m for m in finished if m["key"] == method["key"]]
    return (same_key or [m for m in finished if m["kind"] == method["kind"]])[0]


@pytest.mark.skipif(not (DATASETS / "sustainability" / "scored.jsonl").exists(), reason="../shared/datasets is absent")
def test_capped_run_on_real_data_with_tiny_models(tiny_encoder, tiny_decoder, tmp_path):
    out = tmp_path / "accuracy.json"
    args = ["--quick", "--encoder-model", str(tiny_encoder), "--decoder-model", str(tiny_decoder),
            "--max-train", "32", "--max-val", "12", "--max-test", "24", "--decoder-max-steps", "2",
            "--students", "minilm-distillation,smollm2-instruction-lora", "--work-dir", str(tmp_path / "work"),
            "--output", str(out)]
    result = CliRunner().invoke(cli.main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["complete"] and not written["is_benchmark"]
    assert written["provenance"]["git_commit"] and written["seed"] == 42
    data = written["datasets"]["sustainability"]
    keys = [m["key"] for m in data["methods"]]
    assert keys == ["mean", "tfidf-ridge", "minilm-probe", "minilm-distillation", "smollm2-instruction-lora"]
    for method in data["methods"]:
        assert method["status"] == "ok", method
        assert method["test"]["n"] == 24  # every method on every test article
        assert "mean_predictor_mae" in method["test"]
    lora = data["methods"][-1]
    assert lora["budget_limited"] and lora["settings"]["global_steps"] == 2
    assert lora["tokens"]["prompt_tokens"] > 100  # the filter prompt went in whole
    curve = written["learning_curve"]["methods"]
    assert [e["train_examples"] for e in curve["TF-IDF + ridge"]] == [8, 16, 32]
    assert list(curve)[1] == "MiniLM distillation (full FT)"  # the best (only) student when the curve ran
    assert all(len(entries) == 3 and entries[-1]["status"] == "ok" for entries in curve.values())
    assert written["target"]["met"] in (True, False)
    table = out.with_suffix(".md").read_text()
    assert "not a benchmark result" in table and "| TF-IDF + ridge |" in table

    committed = json.loads((RESULTS / "accuracy.json").read_text())  # written by the single-file script
    assert written.keys() == committed.keys()
    assert written["settings"].keys() == committed["settings"].keys()
    assert written["target"].keys() == committed["target"].keys()
    committed_data = committed["datasets"]["sustainability"]
    assert data.keys() == committed_data.keys()
    for method in data["methods"]:
        counterpart = committed_counterpart(committed_data["methods"], method)
        assert method.keys() == counterpart.keys()
        # the ranking field follows the filter's tiers: the committed run predates sustainability's source tiers
        ranking_fields = {"tier_accuracy", "recall_at_top"}
        assert method["test"].keys() - ranking_fields == counterpart["test"].keys() - ranking_fields
        assert method["test"].keys() & ranking_fields == {"tier_accuracy" if data["tiers"] else "recall_at_top"}
        assert method["settings"].keys() == counterpart["settings"].keys()
        assert method["tokens"].keys() == counterpart["tokens"].keys()
