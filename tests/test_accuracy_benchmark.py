"""Smoke tests of benchmarks/accuracy.py: its baselines, metrics and evidence on tiny data, and one
capped run of the whole script with the tiny fixture models (skipped when ../shared is absent)."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import DATASETS, REPO


@pytest.fixture(scope="module")
def bench():
    path = REPO / "benchmarks" / "accuracy.py"
    spec = importlib.util.spec_from_file_location("accuracy_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def demo_splits_object(bench, data_dir):
    from filterforge.data.splits import load_split
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("investment-risk/v2")
    rows = {name: load_split(data_dir / f"{name}.jsonl", spec) for name in ("train", "val", "test")}
    config = bench.DatasetConfig("demo", spec.id, {"train": 0.8, "val": 0.1, "test": 0.1})
    return bench.Splits(config, spec, data_dir, "demo", rows["train"], rows["val"], rows["test"], {})


def test_baselines_score_every_test_article_beside_the_mean_predictor(bench, demo_splits, tiny_encoder):
    splits = demo_splits_object(bench, demo_splits)
    gold = splits.labels("test")
    profile = bench.Profile("test", probe_alphas=(0.01, 1.0))

    mean = bench.mean_predictor(splits, seed=1)
    assert mean.test["n"] == len(splits.test)
    assert mean.test["mae"] == pytest.approx(mean.test["mean_predictor_mae"])
    assert mean.test["spearman"] is None  # a constant prediction has no ranking

    tfidf = bench.tfidf_ridge(splits, (0.3, 3.0), seed=1)
    assert tfidf.settings["alpha"] in (0.3, 3.0)
    assert tfidf.val_mae == min(tfidf.settings["val_mae_by_alpha"].values())
    assert tfidf.test["n"] == len(splits.test)
    assert tfidf.test["mean_predictor_mae"] == pytest.approx(mean.test["mae"])
    assert tfidf.predictions.shape == gold.shape
    assert 0.0 <= tfidf.predictions.min() and tfidf.predictions.max() <= 10.0
    low, high = tfidf.test["mae_ci95"]
    assert low <= tfidf.test["mae"] <= high

    probe = bench.embedding_probe(splits, tiny_encoder, profile)
    assert probe.test["n"] == len(splits.test)
    assert probe.settings["alpha"] in (0.01, 1.0)
    assert 0.0 <= probe.tokens["share_truncated"] <= 1.0
    assert probe.ms_per_article > 0


def test_baselines_on_a_single_dimension_filter(bench, demo_splits, tiny_encoder):
    """commerce-prefilter has one dimension: ridge then predicts a vector, which must not broadcast."""
    from filterforge.filters.spec import resolve_filter

    commerce = resolve_filter("commerce-prefilter/v1")
    demo = demo_splits_object(bench, demo_splits)
    one_dim = {name: [{**row, "labels": row["labels"][:1]} for row in getattr(demo, name)] for name in ("train", "val", "test")}
    splits = bench.Splits(demo.config, commerce, demo_splits, "demo", one_dim["train"], one_dim["val"], one_dim["test"], {})
    gold_val = splits.labels("val")
    for result in (bench.tfidf_ridge(splits, (0.3, 3.0), seed=1),
                   bench.embedding_probe(splits, tiny_encoder, bench.Profile("test", probe_alphas=(0.01, 1.0)))):
        assert result.predictions.shape == (len(splits.test), 1)
        assert result.val_mae == pytest.approx(np.abs(result.val_predictions - gold_val).mean())
        assert "tier_accuracy" in result.test and 0.0 <= result.test["tier_accuracy"] <= 1.0


def test_ranking_metrics(bench):
    from filterforge.filters.spec import resolve_filter

    sustainability = resolve_filter("sustainability/v1")
    gold = np.random.default_rng(0).uniform(0, 10, (50, 8))
    assert bench.recall_at_top(gold, gold, sustainability) == {"k": 5, "recall": 1.0}
    constant = bench.recall_at_top(np.full_like(gold, 3.0), gold, sustainability)
    assert constant["recall"] == pytest.approx(5 / 50)
    reversed_rank = bench.recall_at_top(-gold + 10, gold, sustainability)
    assert reversed_rank["recall"] == 0.0

    commerce = resolve_filter("commerce-prefilter/v1")
    pred = np.array([[8.0], [5.0], [1.0], [2.0]])
    gold = np.array([[9.5], [9.0], [1.0], [4.0]])  # same tier, COMMERCE vs MIXED, same, JOURNALISM vs MIXED
    assert bench.tier_accuracy(pred, gold, commerce) == pytest.approx(0.5)

    pred = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    gold = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
    assert bench.mean_spearman(pred, gold) == pytest.approx(1.0)  # the constant column is left out


def test_oracle_noise_floor_on_shared_ids(bench, tmp_path):
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("commerce-prefilter/v1")
    folder = tmp_path / "commerce-prefilter"
    folder.mkdir()

    def row(ident, score):
        return {"id": ident, "title": "t", "content": "c", "commerce-prefilter_analysis": {"commerce_score": {"score": score}}}

    (folder / "scored.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (row("a", 8), row("b", 2), row("c", 5))))
    (folder / "alt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (row("a", 6), row("b", 1), row("z", 9))))
    config = bench.DatasetConfig("commerce-prefilter", spec.id, {}, "alt.jsonl")
    splits = bench.Splits(config, spec, folder, "x", [], [], [{"id": "a"}], {})
    noise = bench.oracle_noise_floor(splits, tmp_path)
    assert noise["shared_articles"] == 2
    assert noise["shared_articles_in_test"] == 1
    assert noise["oracle_vs_oracle_mae"] == pytest.approx(1.5)
    assert noise["mean_offset_second_minus_first"]["commerce_score"] == pytest.approx(-1.5)
    assert noise["oracle_vs_oracle_mae_offset_removed"] == pytest.approx(0.5)


def test_unknown_dataset_and_missing_data_are_one_line_errors(bench, tmp_path):
    result = CliRunner().invoke(bench.main, ["--datasets", "nope"])
    assert result.exit_code == 1
    assert "unknown dataset nope" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(bench.main, ["--quick", "--datasets-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "no scored.jsonl for sustainability" in result.output
    assert not (tmp_path / "out.json").exists()


@pytest.mark.skipif(not (DATASETS / "sustainability" / "scored.jsonl").exists(), reason="../shared/datasets is absent")
def test_capped_run_on_real_data_with_tiny_models(bench, tiny_encoder, tiny_decoder, tmp_path):
    out = tmp_path / "accuracy.json"
    args = ["--quick", "--encoder-model", str(tiny_encoder), "--decoder-model", str(tiny_decoder),
            "--max-train", "32", "--max-val", "12", "--max-test", "24", "--decoder-max-steps", "2",
            "--students", "minilm-distillation,smollm2-instruction-lora", "--work-dir", str(tmp_path / "work"),
            "--output", str(out)]
    result = CliRunner().invoke(bench.main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["complete"] and not report["is_benchmark"]
    assert report["provenance"]["git_commit"] and report["seed"] == 42
    data = report["datasets"]["sustainability"]
    keys = [m["key"] for m in data["methods"]]
    assert keys == ["mean", "tfidf-ridge", "minilm-probe", "minilm-distillation", "smollm2-instruction-lora"]
    for method in data["methods"]:
        assert method["status"] == "ok", method
        assert method["test"]["n"] == 24  # every method on every test article
        assert "mean_predictor_mae" in method["test"]
    lora = data["methods"][-1]
    assert lora["budget_limited"] and lora["settings"]["global_steps"] == 2
    assert lora["tokens"]["prompt_tokens"] > 100  # the filter prompt went in whole
    curve = report["learning_curve"]["methods"]
    assert [e["train_examples"] for e in curve["TF-IDF + ridge"]] == [8, 16, 32]
    assert list(curve)[1] == "MiniLM distillation (full FT)"  # the best (only) student when the curve ran
    assert all(len(entries) == 3 and entries[-1]["status"] == "ok" for entries in curve.values())
    assert report["target"]["met"] in (True, False)
    table = out.with_suffix(".md").read_text()
    assert "not a benchmark result" in table and "| TF-IDF + ridge |" in table
