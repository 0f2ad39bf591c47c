"""`filterforge bench` and `filterforge score` on a tiny exported student."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import invoke, tiny_train_args


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    """A tiny distillation run with an fp32 ONNX export in RUN_DIR/onnx."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("bench-score") / "run"
    runner = CliRunner()
    trained = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--max-train-examples", "48"))
    assert trained.exit_code == 0, trained.output
    exported = invoke(runner, ["export", out])
    assert exported.exit_code == 0, exported.output
    return out


def _articles(splits: Path, n: int) -> list[dict]:
    rows = [json.loads(line) for line in (splits / "test.jsonl").read_text().splitlines() if line.strip()][:n]
    return [{"id": r["id"], "title": r["title"], "content": r["content"]} for r in rows]


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _output_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- bench --------------------------------------------------------------------------------------

def test_bench_times_every_runtime_and_writes_the_summary_compare_reads(runner, run):
    result = invoke(runner, ["bench", run, "--batch-sizes", "1,2", "--lengths", "32,64", "--warmup", "1", "--iters", "3",
                             "--threads", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads((run / "bench.json").read_text())
    shapes = {(r["runtime"], r["batch_size"], r["length"]) for r in report["results"]}
    assert shapes == {(rt, b, n) for rt in ("torch", "onnx") for b in (1, 2) for n in (32, 64)}
    for r in report["results"]:
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] and r["articles_per_second"] > 0
        assert r["ms_per_article"] == pytest.approx(r["p50_ms"] / r["batch_size"], rel=1e-2)
        assert r["input_tokens"] == r["length"] and r["provider"] == "cpu" and r["peak_memory_mb"] > 0
    summary = report["summary"]
    assert {k: summary[k] for k in ("runtime", "batch_size", "length", "path")} == \
        {"runtime": "torch", "batch_size": 1, "length": 32, "path": "full-sequence"}
    assert isinstance(summary["ms_per_article"], float) and summary["inference_peak_memory_mb"] > 0
    assert "CPU" in summary["machine"]
    assert "test.jsonl" in report["token_source"]
    table = (run / "bench.md").read_text()
    assert table.count("\n| torch |") == 4 and table.count("\n| onnx |") == 4
    assert table.strip().splitlines()[-1] in result.output


def test_bench_of_an_export_dir_times_its_graph(runner, run, tmp_path):
    onnx_dir = tmp_path / "onnx"
    shutil.copytree(run / "onnx", onnx_dir)
    result = invoke(runner, ["bench", onnx_dir, "--batch-sizes", "1", "--lengths", "16", "--warmup", "0", "--iters", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads((onnx_dir / "bench.json").read_text())["summary"]
    assert summary["runtime"] == "onnx" and summary["path"] == "full-sequence" and summary["length"] == 16


@pytest.mark.parametrize("args, message", [
    (["--runtime", "tensorflow"], "unknown --runtime 'tensorflow'"),
    (["--batch-sizes", "1,x"], "--batch-sizes expects comma-separated whole numbers"),
    (["--lengths", "0"], "--lengths expects positive whole numbers"),
    (["--lengths", "100000"], "exceed the model's context window of 512"),
])
def test_bench_rejects_bad_options_in_one_line(runner, run, args, message):
    result = invoke(runner, ["bench", run, "--iters", "1", "--warmup", "0", "--batch-sizes", "1", *args])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert message in result.output


def test_bench_onnx_without_an_export_says_how_to_make_one(runner, run, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(run / "model", bare / "model")
    result = invoke(runner, ["bench", bare, "--runtime", "onnx", "--iters", "1"])
    assert result.exit_code == 1 and f"run filterforge export {bare}" in result.output


# -- score --------------------------------------------------------------------------------------

def test_score_rows_have_scores_average_tier_and_verdict(runner, run, demo_splits, tmp_path):
    from filterforge.filters.spec import load_filter

    articles = _articles(demo_splits, 6)
    articles.append({"id": "tiny", "title": "Hi", "content": "short"})
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in articles])
    out = tmp_path / "out" / "scores.jsonl"
    result = invoke(runner, ["score", run, "--input", source, "--output", out, "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert "with onnx fp32" in result.output and "scored 6, prefiltered 1" in result.output
    rows = _output_rows(out)
    assert [r["id"] for r in rows] == [a["id"] for a in articles]
    spec = load_filter(run / "model")
    for row in rows[:-1]:
        assert list(row["scores"]) == spec.dimension_names
        values = list(row["scores"].values())
        assert all(0 <= v <= 10 for v in values)
        assert row["weighted_average"] == pytest.approx(spec.weighted_average(values), abs=1e-3)
        assert row["overall"] == pytest.approx(spec.overall(values), abs=1e-3)  # no caps in this filter
        assert row["tier"] == spec.tier(values)
        assert row["prefilter"] == {"passed": True, "reason": None}
    rejected = rows[-1]
    assert rejected["scores"] is None and rejected["tier"] is None and rejected["prefilter"]["passed"] is False
    assert list(rejected) == list(rows[0])  # the same keys as a scored row, overall included
    assert "too little text" in rejected["prefilter"]["reason"]


def test_onnx_and_torch_runtimes_agree(runner, run, demo_splits, tmp_path):
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in _articles(demo_splits, 8)])
    outputs = {}
    for runtime in ("onnx", "torch"):
        out = tmp_path / f"{runtime}.jsonl"
        result = invoke(runner, ["score", run, "--input", source, "--output", out, "--runtime", runtime])
        assert result.exit_code == 0, result.output
        assert f"with {runtime}" in result.output
        outputs[runtime] = np.array([list(r["scores"].values()) for r in _output_rows(out)])
    np.testing.assert_allclose(outputs["onnx"], outputs["torch"], atol=1e-3)


def test_invalid_rows_are_reported_with_file_and_line_and_counted(runner, run, demo_splits, tmp_path):
    good = _articles(demo_splits, 2)
    lines = [json.dumps(good[0]), "{not json", json.dumps({"title": "No id here", "content": "x" * 40}),
             json.dumps(["a", "list"]), "", json.dumps({"id": "blank", "title": " ", "content": ""}),
             json.dumps({"id": "n", "title": 5}), json.dumps(good[1]), json.dumps(good[0])]
    source = _write_lines(tmp_path / "in.jsonl", lines)
    out = tmp_path / "scores.jsonl"
    result = invoke(runner, ["score", run, "--input", source, "--output", out])
    assert result.exit_code == 0, result.output
    for lineno, reason in [(2, "malformed JSON"), (3, "no id"), (4, "expected a JSON object, got list"),
                           (6, "no text"), (7, "'title' must be a string"), (9, "duplicate id")]:
        assert f"{source}:{lineno}: {reason}" in result.output
    assert "scored 2, prefiltered 0, skipped 0 already in the output, 5 invalid rows, 1 duplicate ids" in result.output
    assert [r["id"] for r in _output_rows(out)] == [good[0]["id"], good[1]["id"]]


def test_resume_skips_scored_ids_and_drops_a_partial_last_line(runner, run, demo_splits, tmp_path):
    articles = _articles(demo_splits, 10)
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in articles])
    complete = tmp_path / "complete.jsonl"
    assert invoke(runner, ["score", run, "--input", source, "--output", complete]).exit_code == 0
    lines = complete.read_text().splitlines(keepends=True)
    # A run killed while writing its fourth line: three whole lines and half of the next.
    out = tmp_path / "scores.jsonl"
    out.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    result = invoke(runner, ["score", run, "--input", source, "--output", out])
    assert result.exit_code == 0, result.output
    assert "3 ids already scored are skipped; dropped a partial last line" in result.output
    assert "scored 7," in result.output and "skipped 3 already in the output" in result.output
    rows = _output_rows(out)
    assert sorted(r["id"] for r in rows) == sorted(a["id"] for a in articles)
    assert out.read_text() == complete.read_text()
    again = invoke(runner, ["score", run, "--input", source, "--output", out])
    assert "scored 0," in again.output and out.read_text() == complete.read_text()


def test_an_output_that_is_not_score_rows_is_left_alone(runner, run, demo_splits, tmp_path):
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in _articles(demo_splits, 2)])
    out = _write_lines(tmp_path / "notes.jsonl", ["this is not json"])
    result = invoke(runner, ["score", run, "--input", source, "--output", out])
    assert result.exit_code == 1 and f"{out}:1: not a score row" in result.output
    assert out.read_text() == "this is not json\n"


def test_calibration_is_applied_after_the_model(runner, run, demo_splits, tmp_path):
    from filterforge.runs.calibration import Calibration

    calibrated = tmp_path / "calibrated"
    shutil.copytree(run / "model", calibrated / "model")
    names = json.loads((calibrated / "model" / "filterforge.json").read_text())["dimension_names"]
    Calibration(names, [([0.0, 10.0], [7.0, 9.0])] * 8).save(calibrated / "model")  # 0 -> 7, 10 -> 9
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in _articles(demo_splits, 4)])
    plain, adjusted = tmp_path / "plain.jsonl", tmp_path / "adjusted.jsonl"
    assert invoke(runner, ["score", run, "--input", source, "--output", plain, "--runtime", "torch"]).exit_code == 0
    result = invoke(runner, ["score", calibrated, "--input", source, "--output", adjusted])
    assert result.exit_code == 0 and "calibration applied" in result.output
    raw = np.array([list(r["scores"].values()) for r in _output_rows(plain)])
    cal = np.array([list(r["scores"].values()) for r in _output_rows(adjusted)])
    np.testing.assert_allclose(cal, 7 + raw * 0.2, atol=2e-3)


def test_an_export_older_than_the_calibration_is_flagged(runner, run, demo_splits, tmp_path):
    from filterforge.runs.calibration import Calibration

    copy = tmp_path / "run"
    shutil.copytree(run / "model", copy / "model")
    shutil.copy2(run / "training_metadata.json", copy / "training_metadata.json")
    assert invoke(runner, ["export", copy]).exit_code == 0
    names = json.loads((copy / "model" / "filterforge.json").read_text())["dimension_names"]
    Calibration(names, [([0.0, 10.0], [0.0, 10.0])] * 8).save(copy / "model")
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in _articles(demo_splits, 1)])
    result = invoke(runner, ["score", copy, "--input", source, "--output", tmp_path / "o.jsonl", "--runtime", "onnx"])
    assert result.exit_code == 0 and "calibration none" in result.output
    assert "has a calibration.json this export lacks; re-export to apply it" in result.output


def test_score_a_deployed_filter_by_its_id(runner, run, demo_splits, tmp_path, monkeypatch):
    from conftest import REPO

    package = tmp_path / "filters" / "investment-risk" / "v2"
    package.mkdir(parents=True)
    shutil.copy2(REPO / "filters" / "investment-risk" / "v2" / "filter.yaml", package / "filter.yaml")
    shutil.copy2(REPO / "filters" / "investment-risk" / "v2" / "prompt.md", package / "prompt.md")
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    source = _write_lines(tmp_path / "in.jsonl", [json.dumps(a) for a in _articles(demo_splits, 3)])
    missing = invoke(runner, ["score", "investment-risk/v2", "--input", source, "--output", tmp_path / "a.jsonl"])
    assert missing.exit_code == 1 and "has no deployed model" in missing.output
    shutil.copytree(run / "model", package / "model")
    result = invoke(runner, ["score", "investment-risk/v2", "--input", source, "--output", tmp_path / "b.jsonl"])
    assert result.exit_code == 0, result.output
    assert f"from {package / 'model'}" in result.output and len(_output_rows(tmp_path / "b.jsonl")) == 3


def test_unknown_target_is_one_line(runner, tmp_path):
    source = _write_lines(tmp_path / "in.jsonl", [])
    result = invoke(runner, ["score", "no-such-filter", "--input", source, "--output", tmp_path / "o.jsonl"])
    assert result.exit_code == 1 and "'no-such-filter' is neither a folder nor a known filter" in result.output
    assert "Traceback" not in result.output
