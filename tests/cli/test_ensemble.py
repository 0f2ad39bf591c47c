"""`filterforge ensemble` on baseline members (no network, fast): the per-dimension report it prints,
what its run folder records, the fit split it chooses, and its one-line refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import assert_one_line_error, invoke, splits_with_calibration

FILTER = "investment-risk/v2"


@pytest.fixture(scope="module")
def splits(tmp_path_factory, demo_splits) -> Path:
    """The demo splits with a calibration split carved out of train (the prepare report, and so the data
    hash, stay those of the demo splits)."""
    return splits_with_calibration(tmp_path_factory, demo_splits, "ensemble-splits", 24)


@pytest.fixture(scope="module")
def baselines(tmp_path_factory, splits) -> list[Path]:
    from click.testing import CliRunner

    base = tmp_path_factory.mktemp("ensemble-baselines")
    runs = []
    for method in ("tfidf-ridge", "mean"):
        out = base / method
        result = invoke(CliRunner(), ["baseline", FILTER, "--data-dir", splits, "--output-dir", out, "--method", method])
        assert result.exit_code == 0, result.output
        runs.append(out)
    return runs


def test_stack_prints_and_records_which_member_each_dimension_leans_on(runner, baselines, splits, tmp_path):
    out = tmp_path / "ensemble"
    result = invoke(runner, ["ensemble", *baselines, "--output-dir", out])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "training_metadata.json").read_text())
    ensemble = meta["ensemble"]
    assert meta["training_mode"] == "ensemble" and meta["strategy"] == "ensemble-stack"
    assert ensemble["fit_split"]["name"] == "calibration" and ensemble["fit_split"]["articles"] == 24
    assert ensemble["fit_split"]["path"] == str((splits / "calibration.jsonl").resolve())
    assert meta["data_hash"] and meta["git_commit"] is not None and "numpy" in meta["package_versions"]
    assert [(m["name"], m["kind"], m["strategy"]) for m in ensemble["members"]] == [
        ("tfidf-ridge", "baseline", "tfidf-ridge"), ("mean", "baseline", "mean")]
    assert meta["validation_note"] is None
    for dim, row in ensemble["per_dimension"].items():
        assert sum(row["weights"].values()) == pytest.approx(1.0, abs=1e-6)
        assert set(row["mae"]) == {"tfidf-ridge", "mean", "ensemble", "mean_predictor"}
        assert row["leans_on"] == max(row["weights"], key=row["weights"].get)
        line = next(line for line in result.output.splitlines() if line.strip().startswith(dim))
        assert line.split()[-1] == row["leans_on"] and f"{row['mae']['ensemble']:.3f}" in line
    assert "leans on" in result.output and "overall" in result.output and "mean-pred" in result.output
    tiers = ensemble["fit_split_tier_accuracy"]  # investment-risk/v2 has five tiers
    assert set(tiers) == {"tfidf-ridge", "mean", "ensemble"} and all(0 <= v <= 1 for v in tiers.values())
    assert f"tier accuracy (fit split): tfidf-ridge {tiers['tfidf-ridge']:.3f}" in result.output
    model = out / "model"
    assert (model / "ensemble.json").is_file() and (model / "filter.yaml").is_file()
    for name in ("tfidf-ridge", "mean"):
        assert (model / "members" / name / "training_metadata.json").is_file()
    assert not list(model.glob("members/*/calibration.json"))


def test_select_falls_back_to_validation_and_says_so(runner, baselines, demo_splits, tmp_path):
    """The demo splits have no calibration split: the fit uses validation, and metadata and output say it."""
    out = tmp_path / "select"
    result = invoke(runner, ["ensemble", *baselines, "--output-dir", out, "--method", "select", "--data-dir", demo_splits])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "training_metadata.json").read_text())
    assert meta["ensemble"]["fit_split"]["name"] == "val" and "optimistic" in meta["ensemble"]["fit_split"]["why"]
    assert meta["validation_note"] and "in-sample" in result.output and "note: fitted on validation" in result.output
    for row in meta["ensemble"]["per_dimension"].values():
        assert sorted(row["weights"].values()) == [0.0, 1.0]
        assert row["mae"][row["leans_on"]] == min(row["mae"][m] for m in ("tfidf-ridge", "mean"))


def test_a_baseline_ensemble_scores_on_any_runtime(runner, baselines, splits, tmp_path):
    out = tmp_path / "ensemble"
    assert invoke(runner, ["ensemble", *baselines, "--output-dir", out]).exit_code == 0
    rows = []
    for runtime in ("auto", "onnx"):
        scores = tmp_path / f"{runtime}.jsonl"
        result = invoke(runner, ["score", out, "--input", splits / "test.jsonl", "--output", scores, "--runtime", runtime])
        assert result.exit_code == 0, result.output
        rows.append([json.loads(line)["scores"] for line in scores.read_text().splitlines()])
    assert rows[0] == rows[1] and len(rows[0]) == len((splits / "test.jsonl").read_text().splitlines())


def edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_refusals_are_one_line(runner, baselines, splits, tmp_path):
    first, second = baselines
    assert_one_line_error(invoke(runner, ["ensemble", first, "--output-dir", tmp_path / "e"]), "at least 2")
    assert_one_line_error(invoke(runner, ["ensemble", first, first, "--output-dir", tmp_path / "e"]), "more than once")
    other_dims = shutil.copytree(second, tmp_path / "other-dims")
    info = json.loads((other_dims / "model" / "filterforge.json").read_text())
    edit_json(other_dims / "model" / "filterforge.json", dimension_names=info["dimension_names"][::-1])
    assert_one_line_error(invoke(runner, ["ensemble", first, other_dims, "--output-dir", tmp_path / "e"]),
                          str(other_dims), "dimension_names")
    other_data = shutil.copytree(second, tmp_path / "other-data")
    edit_json(other_data / "training_metadata.json", data_hash="0" * 64)
    assert_one_line_error(invoke(runner, ["ensemble", first, other_data, "--output-dir", tmp_path / "e"]),
                          str(other_data), "other data")
    no_fit = shutil.copytree(splits, tmp_path / "no-fit-split")
    (no_fit / "calibration.jsonl").unlink()
    (no_fit / "val.jsonl").unlink()
    assert_one_line_error(invoke(runner, ["ensemble", first, second, "--output-dir", tmp_path / "e", "--data-dir", no_fit]),
                          str(no_fit), "calibration.jsonl", "val.jsonl")
    assert_one_line_error(invoke(runner, ["ensemble", first, tmp_path / "missing", "--output-dir", tmp_path / "e"]),
                          "missing")
    assert not (tmp_path / "e").exists()
    ensemble = tmp_path / "ensemble"
    assert invoke(runner, ["ensemble", first, second, "--output-dir", ensemble]).exit_code == 0
    assert_one_line_error(invoke(runner, ["ensemble", first, ensemble, "--output-dir", tmp_path / "e"]), "ensemble itself")
    assert_one_line_error(invoke(runner, ["ensemble", first, second, "--output-dir", first, "--overwrite"]),
                          "would overwrite member")


def test_resuming_an_output_after_refitting_the_ensemble_is_refused(runner, baselines, splits, tmp_path):
    """The writer record covers the combination: other weights in the same folder are another model."""
    out, scores = tmp_path / "ensemble", tmp_path / "scores.jsonl"
    articles = tmp_path / "articles.jsonl"
    lines = (splits / "test.jsonl").read_text().splitlines()
    articles.write_text("\n".join(lines[:3]) + "\n")
    assert invoke(runner, ["ensemble", *baselines, "--output-dir", out]).exit_code == 0
    assert invoke(runner, ["score", out, "--input", articles, "--output", scores]).exit_code == 0
    combination = json.loads((out / "model" / "ensemble.json").read_text())
    combination["weights"] = {dim: {"tfidf-ridge": 0.5, "mean": 0.5} for dim in combination["weights"]}
    (out / "model" / "ensemble.json").write_text(json.dumps(combination))
    articles.write_text("\n".join(lines[:5]) + "\n")
    result = invoke(runner, ["score", out, "--input", articles, "--output", scores])
    assert_one_line_error(result, str(scores), "another model")


def test_export_of_a_text_only_ensemble_has_nothing_to_export_and_refuses_output(runner, baselines, tmp_path):
    out = tmp_path / "ensemble"
    assert invoke(runner, ["ensemble", *baselines, "--output-dir", out]).exit_code == 0
    result = invoke(runner, ["export", out])
    assert result.exit_code == 0, result.output
    assert "0 neural member(s) of 2" in result.output and not list(out.rglob("model.onnx"))
    assert_one_line_error(invoke(runner, ["export", out, "--output", tmp_path / "onnx"]), "is an ensemble", "drop --output")
