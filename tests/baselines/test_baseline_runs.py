"""`filterforge baseline`: TF-IDF + ridge, the mean predictor and the embedding probe as run folders that
evaluate, calibrate, score, deploy, bench and export accept like a student's run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, invoke, splits_with_calibration

FILTER = "investment-risk/v2"


@pytest.fixture(scope="module")
def splits(tmp_path_factory, demo_splits) -> Path:
    """A copy with a calibration split carved out of train, so calibrate runs too."""
    return splits_with_calibration(tmp_path_factory, demo_splits, "baseline-splits", 20)


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory, splits) -> Path:
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("tfidf") / "run"
    result = invoke(CliRunner(), ["baseline", FILTER, "--data-dir", splits, "--output-dir", out])
    assert result.exit_code == 0, result.output
    return out


def test_a_tfidf_run_records_what_it_chose_on_validation(tfidf_run):
    meta = json.loads((tfidf_run / "training_metadata.json").read_text())
    assert meta["strategy"] == "tfidf-ridge" and meta["training_mode"] == "baseline"
    assert len(meta["baseline"]["alphas"]) == 8 and meta["val_mean_predictor_mae"] > 0
    assert meta["token_budget"]["share_truncated"] == 0.0 and meta["data_hash"]
    for name in ("tfidf_ridge.json", "tfidf_ridge.safetensors", "filterforge.json", "filter.yaml"):
        assert (tfidf_run / "model" / name).is_file(), name
    assert not list((tfidf_run / "model").glob("*.pkl"))


def test_evaluate_calibrate_score_bench_and_deploy_accept_a_tfidf_run(runner, tfidf_run, splits, tmp_path):
    run = shutil.copytree(tfidf_run, tmp_path / "run")
    result = invoke(runner, ["evaluate", run, "--test-data", splits / "test.jsonl"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["metrics"]["mae"] < evaluation["metrics"]["mean_predictor_mae"]
    assert "whole article" in evaluation["inference"]["path"]
    result = invoke(runner, ["calibrate", run])
    assert result.exit_code == 0, result.output
    assert (run / "model" / "calibration.json").is_file()
    result = invoke(runner, ["score", run, "--input", splits / "test.jsonl", "--output", tmp_path / "scores.jsonl"])
    assert result.exit_code == 0, result.output
    assert "calibration applied" in result.output
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == len((splits / "test.jsonl").read_text().splitlines()) and scores[0]["tier"]
    result = invoke(runner, ["bench", run, "--batch-sizes", "1,4", "--lengths", "64", "--warmup", "1", "--iters", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "bench.json").read_text())["summary"]["ms_per_article"] > 0
    filters = tmp_path / "filters"
    shutil.copytree(REPO / "filters" / "investment-risk" / "v2", filters / "investment-risk" / "v2",
                    ignore=shutil.ignore_patterns("model"))
    result = invoke(runner, ["deploy", run, "--filters-root", filters])
    assert result.exit_code == 0, result.output
    assert (filters / "investment-risk" / "v2" / "model" / "tfidf_ridge.safetensors").is_file()


def test_export_refuses_a_text_baseline_in_one_line(runner, tfidf_run, tmp_path):
    result = invoke(runner, ["export", tfidf_run, "--output", tmp_path / "onnx"])
    assert_one_line_error(result, "text baseline")
    assert not (tmp_path / "onnx").exists()


def test_nothing_is_fitted_on_test(runner, splits, tmp_path):
    """The same train and val with other test labels give the same weights."""
    from safetensors.numpy import load_file

    changed = shutil.copytree(splits, tmp_path / "changed")
    rows = [json.loads(line) for line in (changed / "test.jsonl").read_text().splitlines()]
    (changed / "test.jsonl").write_text("".join(json.dumps({**r, "labels": [10.0 - v for v in r["labels"]]}) + "\n"
                                                for r in rows))
    weights = []
    for data in (splits, changed):
        out = tmp_path / data.name / "run"
        assert invoke(runner, ["baseline", FILTER, "--data-dir", data, "--output-dir", out]).exit_code == 0
        weights.append(load_file(str(out / "model" / "tfidf_ridge.safetensors")))
    assert weights[0].keys() == weights[1].keys()
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_saved_tfidf_model_predicts_what_the_fitted_one_did(splits):
    from filterforge.baselines.tfidf import TfidfRidge
    from filterforge.encoding.strategies import article_text
    from filterforge.io import read_jsonl

    train, val = read_jsonl(splits / "train.jsonl"), read_jsonl(splits / "val.jsonl")
    y = lambda rows: np.asarray([r["labels"] for r in rows])  # noqa: E731
    model, report = TfidfRidge.fit([article_text(r) for r in train], y(train), [article_text(r) for r in val], y(val),
                                   [(0.0, 10.0)] * 8, alphas=(0.1, 1.0, 10.0))
    assert set(report["alphas"]) <= {0.1, 1.0, 10.0}
    folder = Path(splits.parent / "saved")
    folder.mkdir(exist_ok=True)
    model.save(folder)
    texts = [article_text(r) for r in val]
    np.testing.assert_allclose(TfidfRidge.load(folder).predict(texts), model.predict(texts), rtol=1e-6, atol=1e-6)


def test_mean_baseline_predicts_the_train_means(runner, splits, tmp_path):
    out = tmp_path / "mean"
    assert invoke(runner, ["baseline", FILTER, "--data-dir", splits, "--output-dir", out, "--method", "mean"]).exit_code == 0
    meta = json.loads((out / "training_metadata.json").read_text())
    assert meta["best_val_mae"] == pytest.approx(meta["val_mean_predictor_mae"])


def test_embedding_probe_is_an_ordinary_student(runner, splits, tiny_encoder, tmp_path):
    """It evaluates and exports to ONNX like any student (the head holds the ridge weights)."""
    out = tmp_path / "probe"
    result = invoke(runner, ["baseline", FILTER, "--data-dir", splits, "--output-dir", out, "--method",
                             "embedding-probe", "--model", tiny_encoder])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "training_metadata.json").read_text())
    assert meta["strategy"] == "embedding-probe" and (out / "model" / "head.safetensors").is_file()
    assert invoke(runner, ["evaluate", out, "--test-data", splits / "test.jsonl"]).exit_code == 0
    result = invoke(runner, ["export", out])
    assert result.exit_code == 0, result.output
    assert (out / "onnx" / "model.onnx").is_file()


def test_unknown_method_and_missing_splits_are_one_line(runner, tmp_path):
    result = invoke(runner, ["baseline", FILTER, "--data-dir", tmp_path, "--output-dir", tmp_path / "r"])
    assert_one_line_error(result, "train.jsonl")
